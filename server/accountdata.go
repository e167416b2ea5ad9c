package server

import (
	"encoding/json"
	"net/http"

	"vouch/api"
)

// ownUser checks the {userId} path parameter against the caller.
func ownUser(r *http.Request, c *caller) (string, error) {
	u := r.PathValue("userId")
	if u != c.UserID {
		return "", api.Forbidden("cannot access account data of another user")
	}
	typ := r.PathValue("type")
	if typ == "" || len(typ) > 255 {
		return "", api.InvalidParam("invalid account data type")
	}
	return typ, nil
}

// getAccountData answers GET /user/{userId}/account_data/{type}.
func (s *Server) getAccountData(r *http.Request, c *caller) (any, error) {
	typ, err := ownUser(r, c)
	if err != nil {
		return nil, err
	}
	content, err := s.st.GetAccountData(r.Context(), c.UserID, typ)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(content), nil
}

// putAccountData answers PUT /user/{userId}/account_data/{type}.
func (s *Server) putAccountData(r *http.Request, c *caller) (any, error) {
	typ, err := ownUser(r, c)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := decodeJSON(r, &obj); err != nil {
		return nil, err
	}
	content, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	if err := s.st.PutAccountData(r.Context(), c.UserID, typ, content); err != nil {
		return nil, err
	}
	s.notifier.Notify(c.UserID)
	return api.Empty{}, nil
}
