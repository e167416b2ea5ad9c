// Package layering holds only a test: it enforces the dependency direction
// of docs/architecture.md, so that the pure trust and crypto packages never
// come to depend on the server, the store, the client, a database driver or
// the network.
package layering
