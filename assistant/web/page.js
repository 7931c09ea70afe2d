() => {
  // Bigan's page behaviour, run once the app has loaded. BIGAN_ZH is filled in by ui.py from zh-CN.json.
  const ZH = BIGAN_ZH;
  const patterns = ZH.patterns.map(([re, to]) => [new RegExp(re), to]);
  // Text that came from documents, answers or the user is never rewritten.
  const USER_TEXT = "#chat .message, #sources, .prose, .body-cell, tbody, textarea, input";
  const ATTRS = ["aria-label", "title", "placeholder"];
  const MESSAGE_ROLES = { bot: "回答：", user: "提问：" };

  const zh = (text) => {
    const key = text.trim();
    if (!key) return null;
    if (Object.prototype.hasOwnProperty.call(ZH.labels, key)) return text.replace(key, ZH.labels[key]);
    for (const [re, to] of patterns) if (re.test(key)) return text.replace(key, key.replace(re, to));
    return null;
  };

  // Gradio's own strings that its Chinese locale lacks (ARIA labels, the status tracker).
  const translate = (node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      const parent = node.parentElement;
      if (!parent || parent.closest(USER_TEXT)) return;
      const done = zh(node.data);
      if (done !== null && done !== node.data) node.data = done;
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    const elements = [node, ...node.querySelectorAll("*")];
    for (const el of elements) {
      // A message's label is its role and its text ("bot's message: …" in Gradio).
      const role = MESSAGE_ROLES[el.getAttribute("data-testid")];
      if (role && el.hasAttribute("aria-label")) {
        const label = role + el.textContent.trim();
        if (el.getAttribute("aria-label") !== label) el.setAttribute("aria-label", label);
        continue;
      }
      for (const attr of ATTRS) {
        const value = el.getAttribute(attr);
        if (value === null) continue;
        const done = zh(value);
        if (done !== null && done !== value) el.setAttribute(attr, done);
      }
    }
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) translate(text);
  };

  const root = document.querySelector("gradio-app") || document.body;
  translate(root);
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "attributes" || record.type === "characterData") translate(record.target);
      else record.addedNodes.forEach(translate);
    }
  }).observe(root, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ATTRS });

  // [n] in an answer opens its passage in the 引用来源 panel (each answer keeps its own group there).
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('#chat a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    const group = target.closest(".cite-group");
    if (group) {
      document.querySelectorAll("#sources .cite-group").forEach((g) => { g.hidden = g !== group; });
    }
    target.open = true;
    target.scrollIntoView({ block: "nearest", behavior: "smooth" });
    target.classList.remove("cite-flash");
    void target.offsetWidth;
    target.classList.add("cite-flash");
  }, true);

  // The conversation takes the height the screen leaves, so the question box stays in view.
  const fit = () => {
    const chat = document.querySelector("#chat");
    const column = chat && chat.closest(".column");
    if (!column || !chat.offsetParent) return;
    const box = chat.getBoundingClientRect();
    const below = column.getBoundingClientRect().bottom - box.bottom;
    const height = Math.max(220, Math.floor(window.innerHeight - (box.top + window.scrollY) - below - 12));
    if (Math.abs(height - box.height) > 1) document.documentElement.style.setProperty("--bigan-chat-height", `${height}px`);
  };
  const watchLayout = () => {
    const chat = document.querySelector("#chat");
    if (!chat) return setTimeout(watchLayout, 200);
    const sizes = new ResizeObserver(() => requestAnimationFrame(fit));
    sizes.observe(chat.closest(".column"));
    const header = document.querySelector("#header");
    if (header) sizes.observe(header);
    window.addEventListener("resize", fit);
    fit();
  };
  watchLayout();

  // Enter sends, Shift+Enter starts a new line (Gradio's textbox); but the Enter that ends a
  // Chinese input method's composition only confirms the characters, and while an answer streams
  // Enter waits for it (or for 停止) instead of starting another.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || !event.target.closest("#question")) return;
    if (event.isComposing || event.keyCode === 229) {
      event.stopImmediatePropagation();
    } else if (document.querySelector("#stop")?.offsetParent) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
}
