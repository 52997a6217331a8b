// Safe Markdown for model replies: marked turns Markdown into HTML, DOMPurify keeps a short
// allow-list of it. Exposes
//   window.llmosMarkdown.render(text) -> sanitized HTML text
//   window.llmosMarkdown.renderInto(element, text, scroller?)  renders once per animation frame
//       (streaming); a scroller that was at its bottom is kept there
//   window.llmosMarkdown.prettyJson(text) -> indented JSON, or the text as it is when invalid
// A reply is untrusted text: it must not run code nor make the page request anything. So raw
// HTML in it is shown as text, images become links (never fetched), and links may only point
// at http(s) or mailto and open in a new tab without an opener.
import { Marked } from "../vendor/marked.esm.js";
import createPurifier from "../vendor/purify.es.mjs";

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html: ({ text }) => escapeHtml(text),
    image: ({ href, text }) => `<a href="${escapeHtml(href)}">🖼 ${escapeHtml(text || "image")}</a>`,
    checkbox: ({ checked }) => (checked ? "☑ " : "☐ "),
  },
});

const TAGS = [
  "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
  "i", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th",
  "thead", "tr", "ul",
];
const CONFIG = {
  ALLOWED_TAGS: TAGS,
  ALLOWED_ATTR: ["href", "title", "start", "align", "colspan", "rowspan"],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  KEEP_CONTENT: true,
};

// A private DOMPurify instance, so these hooks never change anyone else's sanitizer.
const purifier = createPurifier(window);
purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName === "A") {
    if (node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  }
});

function render(text) {
  const html = marked.parse(String(text ?? ""), { async: false });
  return purifier.sanitize(html, CONFIG);
}

// Streaming replies re-render the whole message on each delta; coalesce to one per frame.
const queued = new Map();
function renderInto(element, text, scroller) {
  const first = !queued.has(element);
  queued.set(element, String(text ?? ""));
  if (!first) return;
  requestAnimationFrame(() => {
    const latest = queued.get(element);
    queued.delete(element);
    const stick = scroller && scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    element.innerHTML = render(latest);
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  });
}

function prettyJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return String(text ?? "");
  }
}

window.llmosMarkdown = Object.freeze({ render, renderInto, prettyJson });
