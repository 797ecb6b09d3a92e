// Serve on the loopback interface only (cds listens on every interface by default).
const cds = require('@sap/cds')
cds.on('bootstrap', (app) => {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, process.env.CDS_HOST || '127.0.0.1', ...rest)
})
module.exports = cds.server
