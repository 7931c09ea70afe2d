// Gradio takes its language from the browser; Bigan's page is Chinese whatever the browser says.
// Runs before Gradio's scripts (the server puts it first in <head>).
(() => {
  const define = (name, value) =>
    Object.defineProperty(Navigator.prototype, name, { get: () => value, configurable: true });
  define("language", "zh-CN");
  define("languages", Object.freeze(["zh-CN", "zh"]));
  document.documentElement.lang = "zh-CN";
})();
