// "Try it" for /docs: builds the request from the form and shows the answer. No libraries.
document.querySelectorAll("form.try").forEach((form) => {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = form.parentElement.querySelector("pre.out");
    let path = form.dataset.path;
    const query = new URLSearchParams();
    const init = { method: form.dataset.method.toUpperCase(), headers: {} };
    for (const input of form.querySelectorAll("input, textarea")) {
      if (!input.value) continue;
      if (input.dataset.in === "path") path = path.replace(`{${input.name}}`, encodeURIComponent(input.value));
      else if (input.dataset.in === "auth") init.headers.Authorization = `Bearer ${input.value.trim()}`;
      else if (input.dataset.in === "body") { init.body = input.value; init.headers["Content-Type"] = "application/json"; }
      else query.append(input.name, input.value);
    }
    const url = path + (query.toString() ? `?${query}` : "");
    out.hidden = false;
    out.textContent = `${form.dataset.method.toUpperCase()} ${url} …`;
    try {
      const response = await fetch(url, init);
      const type = response.headers.get("content-type") || "";
      let body = await response.text();
      if (type.includes("json")) {
        try { body = JSON.stringify(JSON.parse(body), null, 2); } catch (_) { /* show as sent */ }
      }
      out.textContent = `${response.status} ${response.statusText}\n\n${body}`;
    } catch (error) {
      out.textContent = `The request failed: ${error}`;
    }
  });
});
