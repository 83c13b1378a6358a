// The SPARQL query UI: YASGUI (served from /ui-assets/, never a CDN) on our endpoint, with the
// example queries of queries/ one click away. Reads its data from the page: the endpoint from
// #yasgui[data-endpoint], the examples from the JSON block #examples.
"use strict";

(function () {
  var root = document.getElementById("yasgui");
  var data = document.getElementById("examples");
  if (!root || !data || typeof Yasgui === "undefined") {
    return;
  }
  var endpoint = root.dataset.endpoint;
  var examples = JSON.parse(data.textContent);
  var list = document.getElementById("examples-list");

  // Offline: no suggestions from Linked Open Vocabularies ("class", "property"), and prefixes
  // from YASGUI's bundled list rather than prefix.cc. Yasgui.defaults.yasqe is this same object,
  // and a config option could not shorten the list (the config is merged index by index).
  Yasgui.Yasqe.defaults.autocompleters = ["variables", "prefixes"];
  Yasgui.Yasqe.defaults.prefixCcApi = null;

  var yasgui = new Yasgui(root, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    persistenceId: "kzr-sparql",   // one saved set of tabs per site, restored on reload
    autoAddOnInit: false,          // the first visit opens the first example instead
    autofocus: false,
    tabName: "Query",
  });

  function tabConfig(example) {
    return {
      name: example.title,
      yasqe: { value: example.query },
      requestConfig: { endpoint: endpoint, method: "POST" },
    };
  }

  function openExample(name) {
    var example = examples.find(function (e) { return e.name === name; });
    if (example) {
      // An example already open in an unchanged tab is selected rather than opened again.
      yasgui.addTab(true, tabConfig(example), { avoidDuplicateTabs: true });
      if (list) {
        list.open = false;
      }
      root.scrollIntoView({ block: "start" });
    }
  }

  if (yasgui.persistentConfig.getTabs().length === 0 && examples.length > 0) {
    yasgui.addTab(true, tabConfig(examples[0]));
  }
  document.querySelectorAll("button.example[data-example]").forEach(function (button) {
    button.addEventListener("click", function () { openExample(button.dataset.example); });
  });
  window.kzrYasgui = yasgui;  // for the browser tests and the curious
})();
