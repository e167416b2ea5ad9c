package server

// Room-key backups: the spec's "Server-side key backups" endpoints
// (/room_keys/version…, /room_keys/keys…). Every handler acts on the
// authenticated caller's own backup; no request can name another user. The
// server never looks inside auth_data or session_data beyond checking that
// they are JSON objects: both are the client's business. Decisions are in
// docs/key-backup-server.md.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"vouch/api"
	"vouch/backup"
	"vouch/store"
)

// Limits on the identifiers of the backup API, in bytes.
const (
	maxBackupAlgorithmLen = 255
	maxBackupRoomIDLen    = 255
	maxBackupSessionIDLen = 255
	// maxSafeInteger is the largest integer every JSON implementation
	// represents exactly (2^53-1), the canonical-JSON range of Matrix.
	maxSafeInteger = 1<<53 - 1
)

// backupRoutes registers the key-backup endpoints through the routes
// helper that registers a path under every API prefix.
func (s *Server) backupRoutes(both func(path string, m map[string]route)) {
	both("/room_keys/version", map[string]route{
		http.MethodPost: {auth: true, h: s.createBackupVersion},
		http.MethodGet:  {auth: true, h: s.getBackupVersion},
	})
	both("/room_keys/version/{version}", map[string]route{
		http.MethodGet:    {auth: true, h: s.getBackupVersion},
		http.MethodPut:    {auth: true, h: s.updateBackupVersion},
		http.MethodDelete: {auth: true, h: s.deleteBackupVersion},
	})
	keys := map[string]route{
		http.MethodPut:    {auth: true, h: s.putBackupKeys},
		http.MethodGet:    {auth: true, h: s.getBackupKeys},
		http.MethodDelete: {auth: true, h: s.deleteBackupKeys},
	}
	both("/room_keys/keys", keys)
	both("/room_keys/keys/{roomId}", keys)
	both("/room_keys/keys/{roomId}/{sessionId}", keys)
}

// bodyLimit is the request body limit of r: max_backup_body_bytes for the
// key-upload endpoints (a restore-sized upload of 10,000 sessions is about
// 9.4 MB with realistic session_data), max_body_bytes for everything else.
func (s *Server) bodyLimit(r *http.Request) int64 {
	p := r.URL.Path
	if strings.HasPrefix(p, v3+"/room_keys/keys") || strings.HasPrefix(p, "/_matrix/client/r0/room_keys/keys") {
		return s.cfg.MaxBackupBodyBytes
	}
	return s.cfg.MaxBodyBytes
}

// backupError turns store errors of the backup area into Matrix errors
// with the spec's messages; other errors pass unchanged.
func backupError(err error) error {
	var wrong *store.WrongBackupVersionError
	switch {
	case errors.As(err, &wrong):
		return &api.Error{Status: http.StatusForbidden, Code: api.CodeWrongRoomKeysVersion,
			Msg: "Wrong backup version.", CurrentVersion: wrong.Current}
	case errors.Is(err, store.ErrNotFound):
		return api.NotFound("Unknown backup version")
	case errors.Is(err, store.ErrBackupAlgorithm):
		return api.InvalidParam("Algorithm does not match")
	}
	return err
}

// rawObject checks that raw is a JSON object and returns it compacted.
func rawObject(raw json.RawMessage, what string) ([]byte, error) {
	if len(raw) == 0 {
		return nil, api.BadJSON("missing %s", what)
	}
	if raw[0] != '{' {
		return nil, api.BadJSON("%s must be an object", what)
	}
	var b bytes.Buffer
	b.Grow(len(raw))
	if err := json.Compact(&b, raw); err != nil {
		return nil, api.BadJSON("%s: %v", what, err)
	}
	return b.Bytes(), nil
}

// members returns the members of a JSON object by their exact names (Go's
// struct decoding would also match names case-insensitively).
func members(raw json.RawMessage, what string) (map[string]json.RawMessage, error) {
	if len(raw) == 0 {
		return nil, api.BadJSON("missing %s", what)
	}
	if raw[0] != '{' {
		return nil, api.BadJSON("%s must be an object", what)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, api.BadJSON("%s: %v", what, err)
	}
	return m, nil
}

// rawString decodes a JSON string.
func rawString(raw json.RawMessage, what string) (string, error) {
	if len(raw) == 0 {
		return "", api.BadJSON("missing %s", what)
	}
	if raw[0] != '"' {
		return "", api.BadJSON("%s must be a string", what)
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", api.BadJSON("%s: %v", what, err)
	}
	return v, nil
}

// rawCount decodes a non-negative JSON integer written without fraction or
// exponent: M_BAD_JSON for any other type or form, M_INVALID_PARAM for a
// negative value or one beyond 2^53-1.
func rawCount(raw json.RawMessage, what string) (int64, error) {
	if len(raw) == 0 {
		return 0, api.BadJSON("missing %s", what)
	}
	digits := string(raw)
	negative := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	if digits == "" || (digits[0] == '0' && len(digits) > 1) || strings.Trim(digits, "0123456789") != "" {
		return 0, api.BadJSON("%s must be an integer", what)
	}
	if negative {
		return 0, api.InvalidParam("%s must not be negative", what)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > maxSafeInteger {
		return 0, api.InvalidParam("%s is larger than 2^53-1", what)
	}
	return n, nil
}

// rawBool decodes a JSON boolean.
func rawBool(raw json.RawMessage, what string) (bool, error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "":
		return false, api.BadJSON("missing %s", what)
	}
	return false, api.BadJSON("%s must be a boolean", what)
}

// checkBackupID checks a room or session ID of the backup API: printable
// ASCII without space, at most max bytes, and a room ID starts with '!'.
// The server only files keys under these IDs; it need not parse them.
func checkBackupID(id, what string, max int, sigil bool) error {
	if id == "" || len(id) > max {
		return api.InvalidParam("%s must be 1 to %d bytes long", what, max)
	}
	if sigil && (id[0] != '!' || len(id) < 2) {
		return api.InvalidParam("%s %q does not start with '!'", what, id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= 0x20 || c >= 0x7f {
			return api.InvalidParam("%s %q has a character outside printable ASCII", what, id)
		}
	}
	return nil
}

func checkRoomID(id string) error { return checkBackupID(id, "room ID", maxBackupRoomIDLen, true) }

func checkSessionID(id string) error {
	return checkBackupID(id, "session ID", maxBackupSessionIDLen, false)
}

// parseKeyBackupData validates one KeyBackupData object, given by its
// members (exact names, so that a member in another case cannot stand in
// for a real one): all four present with their types; others are ignored.
func parseKeyBackupData(m map[string]json.RawMessage, roomID, sessionID string) (store.BackupSession, error) {
	where := fmt.Sprintf("session %q of room %q", sessionID, roomID)
	if m == nil {
		return store.BackupSession{}, api.BadJSON("%s must be an object", where)
	}
	out := store.BackupSession{RoomID: roomID, SessionID: sessionID}
	var err error
	if out.FirstMessageIndex, err = rawCount(m["first_message_index"], where+": first_message_index"); err != nil {
		return out, err
	}
	if out.ForwardedCount, err = rawCount(m["forwarded_count"], where+": forwarded_count"); err != nil {
		return out, err
	}
	if out.IsVerified, err = rawBool(m["is_verified"], where+": is_verified"); err != nil {
		return out, err
	}
	if out.SessionData, err = rawObject(m["session_data"], where+": session_data"); err != nil {
		return out, err
	}
	return out, nil
}

// roomUpload is a RoomKeyBackup as uploaded. The body is decoded in one
// pass into these types (a 10,000-session upload is about 9 MB); a null or
// missing sessions member leaves Sessions nil.
type roomUpload struct {
	Sessions map[string]map[string]json.RawMessage `json:"sessions"`
}

// roomsUpload is the body of PUT /room_keys/keys.
type roomsUpload struct {
	Rooms map[string]roomUpload `json:"rooms"`
}

// parseRoomSessions validates a room's upload and appends its sessions.
func parseRoomSessions(room roomUpload, roomID string, out []store.BackupSession) ([]store.BackupSession, error) {
	if err := checkRoomID(roomID); err != nil {
		return nil, err
	}
	if room.Sessions == nil {
		return nil, api.BadJSON("room %q: sessions must be an object", roomID)
	}
	for sid, kbd := range room.Sessions {
		if err := checkSessionID(sid); err != nil {
			return nil, err
		}
		bs, err := parseKeyBackupData(kbd, roomID, sid)
		if err != nil {
			return nil, err
		}
		out = append(out, bs)
	}
	return out, nil
}

// readObject reads and checks the request body as a JSON object.
func readObject(r *http.Request) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// versionParam returns the required version query parameter.
func versionParam(r *http.Request) (string, error) {
	v := r.URL.Query().Get("version")
	if v == "" {
		return "", api.Errorf(http.StatusBadRequest, api.CodeMissingParam, "missing version query parameter")
	}
	return v, nil
}

// pathIDs returns and checks the roomId and sessionId path values of the
// matched route ("" when the route has none).
func pathIDs(r *http.Request) (roomID, sessionID string, err error) {
	hasRoom := strings.Contains(r.Pattern, "{roomId}")
	hasSession := strings.HasSuffix(r.Pattern, "{sessionId}")
	if hasRoom {
		roomID = r.PathValue("roomId")
		if err := checkRoomID(roomID); err != nil {
			return "", "", err
		}
	}
	if hasSession {
		sessionID = r.PathValue("sessionId")
		if err := checkSessionID(sessionID); err != nil {
			return "", "", err
		}
	}
	return roomID, sessionID, nil
}

// createBackupVersion answers POST /room_keys/version.
func (s *Server) createBackupVersion(r *http.Request, c *caller) (any, error) {
	raw, err := readObject(r)
	if err != nil {
		return nil, err
	}
	m, err := members(raw, "body")
	if err != nil {
		return nil, err
	}
	alg, authData, err := backupConfig(m)
	if err != nil {
		return nil, err
	}
	v, err := s.st.CreateBackupVersion(r.Context(), c.UserID, alg, authData)
	if err != nil {
		return nil, err
	}
	return api.RoomKeysVersionCreated{Version: v}, nil
}

// backupConfig validates the algorithm and auth_data of a version.
func backupConfig(m map[string]json.RawMessage) (string, []byte, error) {
	alg, err := rawString(m["algorithm"], "algorithm")
	if err != nil {
		return "", nil, err
	}
	if alg == "" || len(alg) > maxBackupAlgorithmLen {
		return "", nil, api.InvalidParam("algorithm must be 1 to %d bytes long", maxBackupAlgorithmLen)
	}
	authData, err := rawObject(m["auth_data"], "auth_data")
	if err != nil {
		return "", nil, err
	}
	return alg, authData, nil
}

// getBackupVersion answers GET /room_keys/version[/{version}].
func (s *Server) getBackupVersion(r *http.Request, c *caller) (any, error) {
	version := r.PathValue("version")
	v, err := s.st.GetBackupVersion(r.Context(), c.UserID, version)
	if errors.Is(err, store.ErrNotFound) && version == "" {
		return nil, api.NotFound("No current backup version")
	}
	if err != nil {
		return nil, backupError(err)
	}
	return api.RoomKeysVersion{Algorithm: v.Algorithm, AuthData: v.AuthData, Count: v.Count, Etag: v.Etag, Version: v.Version}, nil
}

// updateBackupVersion answers PUT /room_keys/version/{version}: only
// auth_data may change.
func (s *Server) updateBackupVersion(r *http.Request, c *caller) (any, error) {
	version := r.PathValue("version")
	raw, err := readObject(r)
	if err != nil {
		return nil, err
	}
	m, err := members(raw, "body")
	if err != nil {
		return nil, err
	}
	alg, authData, err := backupConfig(m)
	if err != nil {
		return nil, err
	}
	if bv, ok := m["version"]; ok {
		v, err := rawString(bv, "version")
		if err != nil {
			return nil, err
		}
		if v != version {
			return nil, api.InvalidParam("version in body does not match")
		}
	}
	if err := s.st.UpdateBackupAuthData(r.Context(), c.UserID, version, alg, authData); err != nil {
		return nil, backupError(err)
	}
	return api.Empty{}, nil
}

// deleteBackupVersion answers DELETE /room_keys/version/{version}.
func (s *Server) deleteBackupVersion(r *http.Request, c *caller) (any, error) {
	if err := s.st.DeleteBackupVersion(r.Context(), c.UserID, r.PathValue("version")); err != nil {
		return nil, backupError(err)
	}
	return api.Empty{}, nil
}

// putBackupKeys answers PUT /room_keys/keys[/{roomId}[/{sessionId}]]. The
// whole body is validated before anything is stored, and the store writes
// it in one transaction, deciding each stored session with
// backup.ShouldReplace.
func (s *Server) putBackupKeys(r *http.Request, c *caller) (any, error) {
	version, err := versionParam(r)
	if err != nil {
		return nil, err
	}
	roomID, sessionID, err := pathIDs(r)
	if err != nil {
		return nil, err
	}
	var sessions []store.BackupSession
	switch {
	case sessionID != "":
		var m map[string]json.RawMessage
		if err := decodeJSON(r, &m); err != nil {
			return nil, err
		}
		bs, err := parseKeyBackupData(m, roomID, sessionID)
		if err != nil {
			return nil, err
		}
		sessions = []store.BackupSession{bs}
	case roomID != "":
		var room roomUpload
		if err := decodeJSON(r, &room); err != nil {
			return nil, err
		}
		if sessions, err = parseRoomSessions(room, roomID, nil); err != nil {
			return nil, err
		}
	default:
		var body roomsUpload
		if err := decodeJSON(r, &body); err != nil {
			return nil, err
		}
		if body.Rooms == nil {
			return nil, api.BadJSON("rooms must be an object")
		}
		for rid, room := range body.Rooms {
			if sessions, err = parseRoomSessions(room, rid, sessions); err != nil {
				return nil, err
			}
		}
	}
	etag, count, err := s.st.PutBackupSessions(r.Context(), c.UserID, version, sessions, shouldReplace)
	if err != nil {
		return nil, backupError(err)
	}
	return api.RoomKeysUpdateResponse{Etag: etag, Count: count}, nil
}

// shouldReplace adapts the spec's rule in package backup to the store.
func shouldReplace(existing, incoming store.BackupSessionMeta) bool {
	return backup.ShouldReplace(
		backup.KeyBackupDataMeta{FirstMessageIndex: existing.FirstMessageIndex, ForwardedCount: existing.ForwardedCount, IsVerified: existing.IsVerified},
		backup.KeyBackupDataMeta{FirstMessageIndex: incoming.FirstMessageIndex, ForwardedCount: incoming.ForwardedCount, IsVerified: incoming.IsVerified})
}

func keyBackupData(bs store.BackupSession) api.KeyBackupData {
	return api.KeyBackupData{FirstMessageIndex: bs.FirstMessageIndex, ForwardedCount: bs.ForwardedCount, IsVerified: bs.IsVerified, SessionData: bs.SessionData}
}

// getBackupKeys answers GET /room_keys/keys[/{roomId}[/{sessionId}]]: any
// version that is not deleted may be read. A room without keys is
// {"sessions": {}}; a missing session is 404 M_NOT_FOUND.
func (s *Server) getBackupKeys(r *http.Request, c *caller) (any, error) {
	version, err := versionParam(r)
	if err != nil {
		return nil, err
	}
	roomID, sessionID, err := pathIDs(r)
	if err != nil {
		return nil, err
	}
	got, err := s.st.GetBackupSessions(r.Context(), c.UserID, version, roomID, sessionID)
	if err != nil {
		return nil, backupError(err)
	}
	switch {
	case sessionID != "":
		if len(got) == 0 {
			return nil, api.NotFound("Key not found.")
		}
		return keyBackupData(got[0]), nil
	case roomID != "":
		return appendSessionsJSON(nil, got), nil
	}
	return appendRoomsJSON(got), nil
}

// appendSessionsJSON appends {"sessions":{…}} for sessions, which must all
// be of one room. The answers of GET /room_keys/keys are written directly
// rather than through maps and json.Marshal: a restore of 10,000 sessions
// would otherwise re-validate and re-compact every session_data, which the
// store holds compact and valid since the upload.
func appendSessionsJSON(b []byte, sessions []store.BackupSession) []byte {
	sort.Slice(sessions, func(i, j int) bool { return sessions[i].SessionID < sessions[j].SessionID })
	b = append(b, `{"sessions":{`...)
	for i, bs := range sessions {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, bs.SessionID)
		b = append(b, `:{"first_message_index":`...)
		b = strconv.AppendInt(b, bs.FirstMessageIndex, 10)
		b = append(b, `,"forwarded_count":`...)
		b = strconv.AppendInt(b, bs.ForwardedCount, 10)
		b = append(b, `,"is_verified":`...)
		b = strconv.AppendBool(b, bs.IsVerified)
		b = append(b, `,"session_data":`...)
		b = append(b, bs.SessionData...)
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

// appendRoomsJSON returns {"rooms":{…}} for sessions of any rooms, rooms and
// sessions in byte order.
func appendRoomsJSON(sessions []store.BackupSession) json.RawMessage {
	sort.Slice(sessions, func(i, j int) bool {
		if sessions[i].RoomID != sessions[j].RoomID {
			return sessions[i].RoomID < sessions[j].RoomID
		}
		return sessions[i].SessionID < sessions[j].SessionID
	})
	size := 16
	for _, bs := range sessions {
		size += len(bs.RoomID) + len(bs.SessionID) + len(bs.SessionData) + 100
	}
	b := make([]byte, 0, size)
	b = append(b, `{"rooms":{`...)
	for start := 0; start < len(sessions); {
		end := start + 1
		for end < len(sessions) && sessions[end].RoomID == sessions[start].RoomID {
			end++
		}
		if start > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, sessions[start].RoomID)
		b = append(b, ':')
		b = appendSessionsJSON(b, sessions[start:end])
		start = end
	}
	return append(b, "}}"...)
}

// deleteBackupKeys answers DELETE /room_keys/keys[/{roomId}[/{sessionId}]]
// for any version that is not deleted (the spec has no 403 here).
func (s *Server) deleteBackupKeys(r *http.Request, c *caller) (any, error) {
	version, err := versionParam(r)
	if err != nil {
		return nil, err
	}
	roomID, sessionID, err := pathIDs(r)
	if err != nil {
		return nil, err
	}
	etag, count, err := s.st.DeleteBackupSessions(r.Context(), c.UserID, version, roomID, sessionID)
	if err != nil {
		return nil, backupError(err)
	}
	return api.RoomKeysUpdateResponse{Etag: etag, Count: count}, nil
}
