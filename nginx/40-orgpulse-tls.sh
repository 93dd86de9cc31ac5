#!/bin/sh
# Run by the nginx image's entrypoint before nginx starts: enables HTTPS (and the redirect
# from HTTP) when a certificate and key are mounted at /etc/nginx/certs/.
set -eu
mkdir -p /etc/nginx/orgpulse /etc/nginx/orgpulse-redirect
rm -f /etc/nginx/orgpulse/*.conf /etc/nginx/orgpulse-redirect/*.conf
if [ -s /etc/nginx/certs/tls.crt ] && [ -s /etc/nginx/certs/tls.key ]; then
    cp /usr/share/orgpulse/tls.conf /etc/nginx/orgpulse/tls.conf
    cp /usr/share/orgpulse/redirect.conf /etc/nginx/orgpulse-redirect/redirect.conf
    echo "orgpulse: certificate found; serving HTTPS on 8443 and redirecting HTTP"
else
    echo "orgpulse: no certificate in /etc/nginx/certs; serving HTTP on 8080 only"
fi
