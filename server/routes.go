package server

import (
	"net/http"

	"vouch/api"
)

const v3 = "/_matrix/client/v3"

// routes registers every endpoint. Paths are registered under v3 and, for
// older clients, r0 where the endpoint existed there.
func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, api.Errorf(http.StatusNotFound, api.CodeUnrecognized, "unrecognized request"))
	})
	s.handle("/_matrix/client/versions", get(s.versions, false))
	s.mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		setRoute(w, "/health")
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("OK")) //nolint:errcheck // client went away
	})
	s.mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		setRoute(w, "/metrics")
		s.metrics.handler.ServeHTTP(w, r)
	})
	both := func(path string, m map[string]route) {
		s.handle(v3+path, m)
		s.handle("/_matrix/client/r0"+path, m)
	}
	post := func(h handler, auth bool) map[string]route {
		return map[string]route{http.MethodPost: {auth: auth, h: h}}
	}

	// Accounts.
	both("/register", post(s.register, false))
	both("/register/available", get(s.registerAvailable, false))
	both("/login", map[string]route{http.MethodGet: {h: s.loginFlows}, http.MethodPost: {h: s.login}})
	both("/logout", post(s.logout, true))
	both("/logout/all", post(s.logoutAll, true))
	both("/account/whoami", get(s.whoami, true))
	both("/devices", get(s.listDevices, true))
	both("/devices/{deviceId}", map[string]route{
		http.MethodGet:    {auth: true, h: s.getDevice},
		http.MethodPut:    {auth: true, h: s.renameDevice},
		http.MethodDelete: {auth: true, h: s.deleteDevice},
	})
	both("/delete_devices", post(s.deleteDevices, true))
	s.handle("/_synapse/admin/v1/register", map[string]route{http.MethodGet: {h: s.sharedSecretNonce}, http.MethodPost: {h: s.sharedSecretRegister}})

	// Keys.
	both("/keys/upload", post(s.keysUpload, true))
	both("/keys/query", post(s.keysQuery, true))
	both("/keys/claim", post(s.keysClaim, true))
	both("/keys/changes", get(s.keysChanges, true))
	both("/keys/device_signing/upload", post(s.deviceSigningUpload, true))
	both("/keys/signatures/upload", post(s.signaturesUpload, true))
	// MSC2882 (msc2882.go).
	s.handle(msc2882Prefix+"/keys/signatures/upload", post(s.publicPrivateSignaturesUpload, true))
	s.handle(msc2882Prefix+"/keys/signatures/delete", post(s.signaturesDelete, true))

	// Sync, to-device, account data.
	both("/sync", get(s.sync, true))
	both("/sendToDevice/{eventType}/{txnId}", map[string]route{http.MethodPut: {auth: true, h: s.sendToDevice}})
	both("/user/{userId}/account_data/{type}", map[string]route{
		http.MethodGet: {auth: true, h: s.getAccountData},
		http.MethodPut: {auth: true, h: s.putAccountData},
	})

	// Room-key backups (backup.go).
	s.backupRoutes(both)
}

// versions answers GET /_matrix/client/versions.
func (s *Server) versions(*http.Request, *caller) (any, error) {
	return api.Versions{
		Versions: []string{"r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12"},
		UnstableFeatures: map[string]bool{
			"org.matrix.e2e_cross_signing": true,
			"org.matrix.msc3967":           true,
			"org.matrix.msc2882":           true,
		},
	}, nil
}
