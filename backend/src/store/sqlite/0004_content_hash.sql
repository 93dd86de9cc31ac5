-- Forges without ETags on their listings (Gitea, Forgejo): the hash of the page body the
-- stored payload was decoded from, so an identical page is recognised without decoding.
ALTER TABLE http_cache ADD COLUMN content_hash TEXT;
