// Small behaviours shared by every page. htmx does the partial updates; this file stays tiny.
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  alert(status === 403 ? "403" : `Error ${status}`);
});
