// Draws every chart of a report page from the JSON spec beside it (vega-embed is bundled).
(async function () {
  const opts = { renderer: "svg", logLevel: 1 /* errors only: an empty filtered chart is not a problem */, actions: { export: true, source: false, compiled: false, editor: false } };
  for (const el of document.querySelectorAll("div.vega[data-spec]")) {
    const spec = JSON.parse(document.getElementById(el.dataset.spec).textContent);
    await vegaEmbed(el, spec, opts);
  }
  document.body.dataset.ready = "true";
})().catch(function (err) {
  console.error(err);
  document.body.dataset.ready = "error";
});
