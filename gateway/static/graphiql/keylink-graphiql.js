/* Keylink's GraphiQL start-up: the page's only script of its own, served from the package
   (no inline script, so the page's CSP allows scripts from this origin only). Headers
   typed in the Headers tab (e.g. X-API-Key) are kept in memory, never in localStorage. */
(function () {
  "use strict";
  var url = window.location.pathname.replace(/\/+$/, "") || "/graphql";
  var fetcher = GraphiQL.createFetcher({ url: url });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    })
  );
})();
