package client_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"vouch/api"
	"vouch/client"
	"vouch/internal/testserver"
	"vouch/trust"
)

// TestMSC2882AgainstServer drives the MSC2882 client methods against a
// real server: alice uploads a PUSK, publishes a public signature of bob's
// master key and of bob's PUSK, carol sees them through ParseUserKeys and
// trust.SignatureVisible's rules, a misplaced signature is refused, and
// alice deletes her signature.
func TestMSC2882AgainstServer(t *testing.T) {
	ctx := context.Background()
	url := testserver.URL(t)
	alice := register(t, url, "alice", "alice-pw")
	bob := register(t, url, "bob", "bob-pw")
	carol := register(t, url, "carol", "carol-pw")
	for _, p := range []*person{alice, bob, carol} {
		p.bootstrap(t)
	}
	const a, b = "@alice:localhost", "@bob:localhost"
	apusk, err := alice.c.UploadPublicUserSigningKey(ctx, a, alice.keys.Master, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bpusk, err := bob.c.UploadPublicUserSigningKey(ctx, b, bob.keys.Master, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Without the master private key nothing is uploaded.
	if _, err := alice.c.UploadPublicUserSigningKey(ctx, a, nil, rand.Reader); !errors.Is(err, client.ErrMissingPrivateKey) {
		t.Fatalf("without master: %v", err)
	}
	q, err := alice.c.QueryKeys(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	bk, problems := client.ParseUserKeys(q, b)
	if len(problems) != 0 || bk.PublicUserSigning == nil {
		t.Fatalf("bob's keys %+v, problems %v", bk, problems)
	}
	if _, pub, _ := bk.PublicUserSigning.PublicKey(); pub != client.PublicKey(bpusk) {
		t.Fatalf("bob's PUSK %s, want %s", pub, client.PublicKey(bpusk))
	}
	if err := bk.PublicUserSigning.VerifySignedByMaster(bk.Master); err != nil {
		t.Fatalf("bob's PUSK as served: %v", err)
	}
	if err := alice.c.PublishPublicSignature(ctx, a, apusk, q.MasterKeys[b]); err != nil {
		t.Fatal(err)
	}
	if err := alice.c.PublishPublicSignature(ctx, a, apusk, q.PublicUserSigningKeys[b]); err != nil {
		t.Fatal(err)
	}
	// Carol sees both public signatures and can check them.
	ak, _ := client.ParseUserKeys(mustQuery(t, carol.c, a), a)
	cq := mustQuery(t, carol.c, b)
	ck, _ := client.ParseUserKeys(cq, b)
	apub, apubB64, _ := ak.PublicUserSigning.PublicKey()
	if apubB64 != client.PublicKey(apusk) {
		t.Fatal("alice's PUSK not served to carol")
	}
	if err := ck.Master.VerifySignedBy(a, apub, "ed25519:"+apubB64); err != nil {
		t.Fatalf("alice's public signature of bob's master: %v", err)
	}
	if err := ck.PublicUserSigning.VerifySignedBy(a, apub, "ed25519:"+apubB64); err != nil {
		t.Fatalf("alice's public signature of bob's PUSK: %v", err)
	}
	if !trust.SignatureVisible("@carol:localhost", b, trust.KindMaster, a, trust.KindPublicUserSigning) {
		t.Fatal("visibility rule disagrees")
	}
	// A public-key signature in "private" is refused.
	err = alice.c.UploadPublicPrivateSignatures(ctx, api.PublicPrivateSignaturesUpload{Private: api.SignaturesUpload{b: {client.PublicKey(bpusk): mustQuery(t, alice.c, b).PublicUserSigningKeys[b]}}})
	var apiErr *client.Error
	if !errors.Is(err, client.ErrUploadFailed) || !errors.As(err, &apiErr) || apiErr.Code != "M_INVALID_PARAM" {
		t.Fatalf("misplaced signature: %v", err)
	}
	// Alice deletes her signature of bob's master; a second delete fails.
	_, bm, _ := ck.Master.PublicKey()
	if err := alice.c.DeleteSignature(ctx, b, bm, "ed25519:"+apubB64); err != nil {
		t.Fatal(err)
	}
	if err := alice.c.DeleteSignature(ctx, b, bm, "ed25519:"+apubB64); !errors.As(err, &apiErr) || apiErr.Code != "M_NOT_FOUND" {
		t.Fatalf("second delete: %v", err)
	}
	ck, _ = client.ParseUserKeys(mustQuery(t, carol.c, b), b)
	if _, ok := ck.Master.Signatures.Get(a, "ed25519:"+apubB64); ok {
		t.Fatal("deleted signature still served")
	}
	if _, ok := ck.PublicUserSigning.Signatures.Get(a, "ed25519:"+apubB64); !ok {
		t.Fatal("signature of bob's PUSK lost")
	}
}

func mustQuery(t *testing.T, c *client.Client, users ...string) *client.KeysQueryResponse {
	t.Helper()
	q, err := c.QueryKeys(context.Background(), users...)
	if err != nil {
		t.Fatal(err)
	}
	return q
}
