package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"vouch/client"
	"vouch/keys"
	"vouch/trust"
	"vouch/trust/graph"
)

// graphWriters are the formats of vouch trust graph.
var graphWriters = map[string]func(io.Writer, *graph.Graph) error{
	"text":    graph.WriteText,
	"dot":     graph.WriteDOT,
	"mermaid": graph.WriteMermaid,
}

// publicUserSigningKeys returns the MSC2882 "public_user_signing_keys" of
// a /keys/query response. It reads them through JSON so that it works
// whether or not the response type has the member yet.
func publicUserSigningKeys(resp *client.KeysQueryResponse) map[string]json.RawMessage {
	var pusk struct {
		Keys map[string]json.RawMessage `json:"public_user_signing_keys"`
	}
	if b, err := json.Marshal(resp); err == nil {
		_ = json.Unmarshal(b, &pusk)
	}
	return pusk.Keys
}

// graphUsers parses the keys of users from a /keys/query response as
// client.ParseUserKeys does, adding the MSC2882 public user-signing keys
// (pusk) it leaves out.
func graphUsers(resp *client.KeysQueryResponse, pusk map[string]json.RawMessage, users []string) (map[string]*trust.UserKeys, []string) {
	out := make(map[string]*trust.UserKeys, len(users))
	var problems []string
	for _, u := range users {
		uk, p := client.ParseUserKeys(resp, u)
		problems = append(problems, p...)
		if raw, ok := pusk[u]; ok {
			if k, err := keys.ParseCrossSigningKey(raw); err != nil {
				problems = append(problems, fmt.Sprintf("public user-signing key of %s ignored: %v", u, err))
			} else {
				uk.PublicUserSigning = k
			}
		}
		out[u] = uk
	}
	return out, problems
}

// usersInResponse lists every user ID a /keys/query response has keys
// for, sorted.
func usersInResponse(resp *client.KeysQueryResponse, pusk map[string]json.RawMessage) []string {
	seen := map[string]bool{}
	for u := range resp.DeviceKeys {
		seen[u] = true
	}
	for _, m := range []map[string]json.RawMessage{resp.MasterKeys, resp.SelfSigningKeys, resp.UserSigningKeys, pusk} {
		for u := range m {
			seen[u] = true
		}
	}
	out := make([]string, 0, len(seen))
	for u := range seen {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// readKeysQuery reads a saved /keys/query response from path ("-" is
// stdin).
func readKeysQuery(in io.Reader, path string) (*client.KeysQueryResponse, map[string]json.RawMessage, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(in, maxJSONInput+1))
	} else {
		b, err = readFileLimited(path)
	}
	if err != nil {
		return nil, nil, failf("reading %s: %v", path, err)
	}
	if len(b) > maxJSONInput {
		return nil, nil, failf("%s is larger than %d bytes", path, maxJSONInput)
	}
	var resp client.KeysQueryResponse
	var pusk struct {
		Keys map[string]json.RawMessage `json:"public_user_signing_keys"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, nil, failf("%s is not a /keys/query response: %v", path, err)
	}
	if err := json.Unmarshal(b, &pusk); err != nil {
		return nil, nil, failf("%s is not a /keys/query response: %v", path, err)
	}
	return &resp, pusk.Keys, nil
}

// maxJSONInput bounds a saved /keys/query response.
const maxJSONInput = 64 << 20

func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxJSONInput+1))
}

// onlineGraph queries the keys of users and the viewer with the saved
// session and decides each user's trust as vouch trust does (without
// storing pins: a picture changes nothing).
func onlineGraph(ctx context.Context, f *accountFlags, s stdio, users []string) (*graph.Graph, []trust.Decision, []string, error) {
	ss, err := openSession(ctx, f, s)
	if err != nil {
		return nil, nil, nil, err
	}
	defer ss.close()
	in, err := ss.trustInputs(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	all := append([]string{in.UserID}, users...)
	slices.Sort(all)
	all = slices.Compact(all)
	resp, err := ss.c.QueryKeys(ctx, all...)
	if err != nil {
		return nil, nil, nil, ss.explain(err)
	}
	tv := client.EvaluateTrust(resp, in, users)
	uks, problems := graphUsers(resp, publicUserSigningKeys(resp), all)
	var ds []trust.Decision
	for _, u := range users {
		ds = append(ds, tv.Users[u].Decision)
	}
	return graph.Build(in.UserID, uks), ds, problems, nil
}

// offlineGraph draws a saved /keys/query response for viewer, anchored at
// master (or, when empty, the viewer's master key as published in it).
func offlineGraph(resp *client.KeysQueryResponse, pusk map[string]json.RawMessage, viewer, master string, users []string) (*graph.Graph, []trust.Decision, []string) {
	all := usersInResponse(resp, pusk)
	if len(users) > 0 {
		all = append([]string{viewer}, users...)
		slices.Sort(all)
		all = slices.Compact(all)
	}
	uks, problems := graphUsers(resp, pusk, all)
	v := offlineViewer(resp, uks, viewer, master)
	var ds []trust.Decision
	for _, u := range users {
		uk := uks[u]
		if u == viewer {
			uk = v.Own
		}
		ds = append(ds, v.User(uk))
	}
	return graph.Build(viewer, uks), ds, problems
}

// offlineViewer is viewer as a saved /keys/query response shows them
// (uks: its users, already parsed), trusting master, or, when master is
// empty, the master key the response publishes for viewer: a saved file
// cannot say which key its reader trusts.
func offlineViewer(resp *client.KeysQueryResponse, uks map[string]*trust.UserKeys, viewer, master string) trust.Viewer {
	own := uks[viewer]
	if own == nil {
		own, _ = client.ParseUserKeys(resp, viewer)
	}
	if master == "" && own.Master != nil {
		_, master, _ = own.Master.PublicKey()
	}
	return trust.Viewer{UserID: viewer, TrustedMaster: master, Own: own}
}

func newTrustGraphCmd(s stdio) *cobra.Command {
	var f accountFlags
	var format, keysFile, viewer, master string
	cmd := &cobra.Command{
		Use:   "graph [USER...]",
		Short: "Draw the trust graph: every key, every signature, and the chains behind your trust",
		Long: `Draw your keys and those of USER... (every device and cross-signing key, every
signature between them, each checked), with the chain that makes each USER
verified, or as far as it goes, highlighted.

Online (default) the keys come from the server with the saved session, and
each USER is judged as vouch trust judges them (no pin is stored). Offline,
--keys FILE reads a saved /keys/query response ("-" for stdin) and draws it
for --viewer, anchored at --master (default: the viewer's master key as the
file shows it); without USER it draws every user in the file.

--format text (default) prints a tree per user, ✓ and ✗ per signature and *
on the highlighted chain; dot is Graphviz (vouch trust graph --format dot |
dot -Tsvg > trust.svg); mermaid is a flowchart for Markdown.`,
		Example: `  vouch trust graph @bob:localhost
  vouch trust graph @bob:localhost --format dot | dot -Tsvg > trust.svg
  vouch trust graph --keys query.json --viewer @alice:localhost --format mermaid`,
		RunE: func(cmd *cobra.Command, args []string) error {
			write, ok := graphWriters[format]
			if !ok {
				return failf("--format must be text, dot or mermaid, not %q", format)
			}
			for _, u := range args {
				if err := checkUserArg(u); err != nil {
					return err
				}
			}
			var (
				g        *graph.Graph
				ds       []trust.Decision
				problems []string
				err      error
			)
			if keysFile != "" {
				if err := checkUserArg(viewer); err != nil {
					return failf("--viewer: %v", err)
				}
				resp, pusk, err := readKeysQuery(cmd.InOrStdin(), keysFile)
				if err != nil {
					return err
				}
				g, ds, problems = offlineGraph(resp, pusk, viewer, master, args)
			} else {
				if viewer != "" || master != "" {
					return failf("--viewer and --master go with --keys; online, the viewer is the logged-in account")
				}
				if g, ds, problems, err = onlineGraph(cmd.Context(), &f, s, args); err != nil {
					return err
				}
			}
			for _, d := range ds {
				g.Highlight(d.Path)
			}
			for _, p := range problems {
				// Problems quote IDs the server chose: keep them on one
				// line and free of terminal escapes.
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", strconv.QuoteToGraphic(p))
			}
			return write(cmd.OutOrStdout(), g)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "text, dot (Graphviz) or mermaid")
	cmd.Flags().StringVar(&keysFile, "keys", "", `draw a saved /keys/query response (FILE, or "-" for stdin) instead of asking the server`)
	cmd.Flags().StringVar(&viewer, "viewer", "", "with --keys: whose view to draw, e.g. @alice:localhost")
	cmd.Flags().StringVar(&master, "master", "", "with --keys: the viewer's trusted master key (default: as published in the file)")
	return cmd
}
