// cytobot studio: fetches server-rendered fragments (escaped by Jinja2), follows reloads over
// server-sent events, and keeps the page state in the location hash. No inline script, no
// network but this server, and no HTML built from strings here.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let searchTimer = null;
  let loading = 0;

  async function fragment(url, options) {
    const response = await fetch(url, Object.assign({ credentials: "same-origin", cache: "no-store" }, options || {}));
    return response.text();
  }

  function route() {
    let hash = "";
    try {
      hash = decodeURIComponent(location.hash.replace(/^#/, ""));
    } catch (e) {
      hash = "";  // a malformed address: the home page
    }
    const slash = hash.indexOf("/");
    const view = slash < 0 ? hash : hash.slice(0, slash);
    const arg = slash < 0 ? "" : hash.slice(slash + 1);
    switch (view) {
      case "card": return "/f/card?line=" + encodeURIComponent(arg);
      case "scale": return "/f/scale?id=" + encodeURIComponent(arg);
      case "ask": return "/f/ask?q=" + encodeURIComponent(arg);
      case "coverage": return "/f/coverage";
      case "questions": return "/f/questions";
      default: return "/f/home";
    }
  }

  function colour(root) {
    root.querySelectorAll(".dc-embed[data-colour]").forEach((el) => {
      const c = el.dataset.colour;
      if (/^#[0-9a-f]{6}$/.test(c)) el.style.borderLeftColor = c;
    });
  }

  async function showMain() {
    const html = await fragment(route());
    const main = $("main");
    main.innerHTML = html;
    colour(main);
  }

  async function showIndex() {
    const q = $("search").value;
    $("index").innerHTML = await fragment("/f/index?q=" + encodeURIComponent(q));
  }

  async function showStatus() {
    $("status").innerHTML = await fragment("/f/status");
  }

  async function refresh(version) {
    loading += 1;
    try {
      // What is on screen first; the index (slow on a large pack) after it.
      await Promise.all([showStatus(), showMain()]);
      await showIndex();
      if (version !== undefined) document.body.dataset.version = String(version);
    } finally {
      loading -= 1;
    }
  }

  function live() {
    const source = new EventSource("/events");
    source.addEventListener("pack", (event) => {
      const data = JSON.parse(event.data);
      $("live").classList.toggle("broken", !data.ok);
      if (String(data.version) !== document.body.dataset.version) refresh(data.version);
    });
    source.addEventListener("open", () => $("live").classList.remove("off"));
    source.addEventListener("error", () => $("live").classList.add("off"));
  }

  function theme() {
    const saved = localStorage.getItem("studio-theme");
    if (saved) document.documentElement.dataset.theme = saved;
    $("theme").addEventListener("click", () => {
      const dark = document.documentElement.dataset.theme === "dark" ||
        (document.documentElement.dataset.theme === "auto" && matchMedia("(prefers-color-scheme: dark)").matches);
      const next = dark ? "light" : "dark";
      document.documentElement.dataset.theme = next;
      localStorage.setItem("studio-theme", next);
    });
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.copy");
    if (!button) return;
    const pre = $(button.dataset.copy);
    if (pre && navigator.clipboard) {
      navigator.clipboard.writeText(pre.textContent).then(() => { button.textContent = "Copied"; }, () => {});
    }
  });

  document.addEventListener("change", async (event) => {
    if (event.target.id !== "qfile" || !event.target.files.length) return;
    const file = event.target.files[0];
    const html = await fragment("/f/questions", {
      method: "POST", body: await file.text(),
      headers: { "Content-Type": "text/yaml; charset=utf-8", "X-File-Name": encodeURIComponent(file.name).slice(0, 200) },
    });
    const doc = new DOMParser().parseFromString(html, "text/html");
    const result = doc.getElementById("qresult");
    if (result) $("qresult").replaceWith(document.importNode(result, true));
  });

  document.addEventListener("DOMContentLoaded", () => {
    theme();
    $("search").addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(showIndex, 120);
    });
    $("ask-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const q = $("ask-input").value.trim();
      if (q) location.hash = "ask/" + encodeURIComponent(q);
    });
    window.addEventListener("hashchange", showMain);
    if (location.hash) showMain();
    colour(document);
    live();
  });
})();
