package server

import (
	"encoding/json"
	"net/http"

	"vouch/api"
	"vouch/keys"
	"vouch/store"
)

// sendToDevice answers PUT /sendToDevice/{eventType}/{txnId}. A replayed
// transaction ID of the same device stores nothing and answers {} again, as
// long as the ID is remembered: to_device_txn_retention after its first use
// the sweep may forget it, and a re-send is then delivered as new.
func (s *Server) sendToDevice(r *http.Request, c *caller) (any, error) {
	typ, txn := r.PathValue("eventType"), r.PathValue("txnId")
	if typ == "" || txn == "" || len(typ) > 255 || len(txn) > 255 {
		return nil, api.InvalidParam("invalid event type or transaction ID")
	}
	var req api.SendToDeviceRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	var msgs []store.ToDeviceMessage
	for u, devs := range req.Messages {
		if _, err := keys.ParseUserID(u); err != nil {
			return nil, err
		}
		for d, content := range devs {
			if d == "" {
				return nil, api.InvalidParam("empty device ID")
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(content, &obj); err != nil || obj == nil {
				return nil, api.BadJSON("message for %s %s is not an object", u, d)
			}
			msgs = append(msgs, store.ToDeviceMessage{Sender: c.UserID, RecipientUser: u, RecipientDevice: d, Type: typ, Content: content})
		}
	}
	if len(msgs) > s.cfg.MaxToDeviceMessages {
		return nil, api.InvalidParam("more than %d messages", s.cfg.MaxToDeviceMessages)
	}
	dup, err := s.st.SendToDevice(r.Context(), c.UserID, c.DeviceID, txn, msgs)
	if err != nil {
		return nil, err
	}
	if !dup {
		for u := range req.Messages {
			s.notifier.Notify(u)
		}
	}
	return api.Empty{}, nil
}
