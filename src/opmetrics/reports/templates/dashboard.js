// The dashboard: one filter bar drives every chart (through its f_* parameters) and the tables.
(async function () {
  const data = JSON.parse(document.getElementById("dashboard-data").textContent);
  const f = { bp: "*", srv: "*", region: "*", device: "*" };
  const select = {
    bp: document.getElementById("f-bp"),
    srv: document.getElementById("f-srv"),
    region: document.getElementById("f-region"),
    device: document.getElementById("f-device"),
  };

  function option(value, label) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    return o;
  }
  function fill(el, items, anyLabel) {
    const keep = el.value;
    el.replaceChildren(option("*", anyLabel));
    for (const it of items) el.appendChild(option(it.id, it.name));
    el.value = items.some(function (it) { return it.id === keep; }) ? keep : "*";
  }
  fill(select.bp, data.filters.bps, "All business processes");
  fill(select.region, data.filters.regions, "All regions");
  fill(select.device, data.filters.devices, "All device types");
  function fillSrvs() {
    const srvs = data.filters.srvs.filter(function (s) { return f.bp === "*" || s.bp === f.bp; });
    fill(select.srv, srvs.map(function (s) { return { id: s.id, name: s.id + " " + s.name }; }), "All SRVs");
    f.srv = select.srv.value;
  }
  fillSrvs();

  const opts = { renderer: "svg", logLevel: 1 /* errors only: an empty filtered chart is not a problem */, actions: { export: true, source: false, compiled: false, editor: false } };
  const views = [];
  for (const c of data.charts) {
    const spec = JSON.parse(document.getElementById("spec-" + c.key).textContent);
    spec.datasets = {};
    for (const name of c.datasets) spec.datasets[name] = structuredClone(data.datasets[name]);
    const res = await vegaEmbed("#chart-" + c.key, spec, opts);
    views.push(res.view);
  }

  function matches(row) {
    const d = row.dataset;
    if (f.bp !== "*" && d.bp && d.bp !== f.bp) return false;
    if (f.srv !== "*" && d.srv && d.srv !== f.srv) return false;
    if (f.region !== "*" && d.region && d.region !== f.region) return false;
    return true;
  }

  async function apply() {
    document.body.dataset.ready = "false";
    for (const v of views) {
      v.signal("f_bp", f.bp).signal("f_srv", f.srv).signal("f_region", f.region).signal("f_device", f.device);
    }
    await Promise.all(views.map(function (v) { return v.runAsync(); }));
    for (const row of document.querySelectorAll("table.filterable tbody tr")) row.hidden = !matches(row);
    const shown = [f.bp === "*" ? "" : select.bp.selectedOptions[0].textContent,
      f.srv === "*" ? "" : "SRV " + f.srv, f.region === "*" ? "" : f.region,
      f.device === "*" ? "" : f.device].filter(Boolean);
    document.getElementById("filter-state").textContent = shown.length ? "Showing: " + shown.join(" · ") : "Showing: everything";
    document.body.dataset.ready = "true";
  }

  select.bp.addEventListener("change", function () { f.bp = select.bp.value; fillSrvs(); apply(); });
  select.srv.addEventListener("change", function () {
    f.srv = select.srv.value;
    if (f.srv !== "*") {
      const s = data.filters.srvs.find(function (x) { return x.id === f.srv; });
      if (s && f.bp !== "*" && s.bp !== f.bp) { f.bp = s.bp; select.bp.value = s.bp; }
    }
    apply();
  });
  select.region.addEventListener("change", function () { f.region = select.region.value; apply(); });
  select.device.addEventListener("change", function () { f.device = select.device.value; apply(); });
  document.getElementById("f-reset").addEventListener("click", function () {
    f.bp = f.srv = f.region = f.device = "*";
    select.bp.value = select.region.value = select.device.value = "*";
    fillSrvs();
    apply();
  });
  await apply();
})().catch(function (err) {
  console.error(err);
  document.body.dataset.ready = "error";
  const box = document.getElementById("dashboard-error");
  if (box) box.textContent = "The dashboard could not be drawn: " + err;
});
