package api

import "encoding/json"

// CodeWrongRoomKeysVersion is the 403 errcode of a key-backup write to a
// version that is not the current one; the error carries current_version.
const CodeWrongRoomKeysVersion = "M_WRONG_ROOM_KEYS_VERSION"

// BackupAlgorithmMegolmV1 is the spec's backup algorithm.
const BackupAlgorithmMegolmV1 = "m.megolm_backup.v1.curve25519-aes-sha2"

// RoomKeysVersionCreate is POST /room_keys/version.
type RoomKeysVersionCreate struct {
	Algorithm string          `json:"algorithm"`
	AuthData  json.RawMessage `json:"auth_data"`
}

// RoomKeysVersionCreated is the answer of POST /room_keys/version.
type RoomKeysVersionCreated struct {
	Version string `json:"version"`
}

// RoomKeysVersion is GET /room_keys/version[/{version}].
type RoomKeysVersion struct {
	Algorithm string          `json:"algorithm"`
	AuthData  json.RawMessage `json:"auth_data"`
	Count     int             `json:"count"`
	Etag      string          `json:"etag"`
	Version   string          `json:"version"`
}

// RoomKeysVersionUpdate is PUT /room_keys/version/{version}. Version, when
// present, must equal the path's.
type RoomKeysVersionUpdate struct {
	Algorithm string          `json:"algorithm"`
	AuthData  json.RawMessage `json:"auth_data"`
	Version   string          `json:"version,omitempty"`
}

// KeyBackupData is one backed-up session (PUT and GET
// /room_keys/keys/{roomId}/{sessionId}).
type KeyBackupData struct {
	FirstMessageIndex int64           `json:"first_message_index"`
	ForwardedCount    int64           `json:"forwarded_count"`
	IsVerified        bool            `json:"is_verified"`
	SessionData       json.RawMessage `json:"session_data"`
}

// RoomKeyBackup is the backed-up sessions of one room, by session ID
// (/room_keys/keys/{roomId}).
type RoomKeyBackup struct {
	Sessions map[string]KeyBackupData `json:"sessions"`
}

// RoomKeysBackup is the backed-up sessions of every room, by room ID
// (/room_keys/keys).
type RoomKeysBackup struct {
	Rooms map[string]RoomKeyBackup `json:"rooms"`
}

// RoomKeysUpdateResponse is the answer of PUT and DELETE /room_keys/keys….
type RoomKeysUpdateResponse struct {
	Etag  string `json:"etag"`
	Count int    `json:"count"`
}
