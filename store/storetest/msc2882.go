package storetest

import (
	"context"
	"testing"

	"vouch/store"
)

// pusk gives user a public user-signing key named pub, signed by master.
func pusk(t *testing.T, s store.Store, user, master, pub string) {
	t.Helper()
	_, err := s.PutCrossSigningKeys(context.Background(), store.CrossSigningUpdate{
		UserID: user, ExpectMaster: master,
		Keys: []store.CrossSigningKeyRecord{csKey(user, store.UsagePublicUserSigning, pub)},
		Signatures: []store.Signature{{TargetUser: user, TargetKey: pub, TargetKind: store.KindPublicUserSigning,
			SignerUser: user, SignerKeyID: "ed25519:" + master, SignerKind: store.KindMaster, Signature: "m-over-p"}},
	})
	must(t, err)
}

// publicSig is signer's public user-signing key pub over target's key.
func publicSig(signer, pub, target, key string, kind store.KeyKind, value string) store.Signature {
	return store.Signature{TargetUser: target, TargetKey: key, TargetKind: kind, SignerUser: signer,
		SignerKeyID: "ed25519:" + pub, SignerKind: store.KindPublicUserSigning, Signature: value}
}

// changedSince returns what viewer hears about since pos, and the current
// position.
func changedSince(t *testing.T, s store.Store, viewer string, pos int64) ([]string, int64) {
	t.Helper()
	ctx := context.Background()
	now, err := s.CurrentPosition(ctx)
	must(t, err)
	got, err := s.ChangedUsers(ctx, viewer, pos, now)
	must(t, err)
	return got, now
}

// testMSC2882 checks the store's part of MSC2882: public user-signing keys
// as signers and targets, the device-ID collision rule, one public
// signature per signer per key across a rotation, and DeleteSignatures
// with the device-list changes each deletion implies.
func testMSC2882(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1")
	user(t, s, "@b:x", "E1")
	user(t, s, "@c:x", "F1")
	crossSign(t, s, "@a:x", "", "A")
	crossSign(t, s, "@b:x", "", "B")
	must(t, s.AddInterest(ctx, "@c:x", []string{"@b:x"}))

	// A public user-signing key may not be named like a device.
	_, err := s.PutCrossSigningKeys(ctx, store.CrossSigningUpdate{UserID: "@a:x", ExpectMaster: "AM",
		Keys: []store.CrossSigningKeyRecord{csKey("@a:x", store.UsagePublicUserSigning, "D1")}})
	wantErr(t, err, store.ErrDeviceIDCollision)
	pusk(t, s, "@a:x", "AM", "AP")
	pusk(t, s, "@b:x", "BM", "BP")
	got, err := s.GetCrossSigningKeys(ctx, []string{"@a:x"})
	must(t, err)
	eq(t, "stored usage", got["@a:x"][store.UsagePublicUserSigning].PublicKey, "AP")
	eq(t, "usages", len(got["@a:x"]), 4)

	_, pos := changedSince(t, s, "@c:x", 0)
	// Alice signs bob's master and PUSK publicly, and his master privately.
	must(t, s.PutSignatures(ctx, []store.Signature{
		publicSig("@a:x", "AP", "@b:x", "BM", store.KindMaster, "p1"),
		publicSig("@a:x", "AP", "@b:x", "BP", store.KindPublicUserSigning, "pp1"),
		{TargetUser: "@b:x", TargetKey: "BM", TargetKind: store.KindMaster, SignerUser: "@a:x", SignerKeyID: "ed25519:AU", SignerKind: store.KindUserSigning, Signature: "u1"},
	}))
	c, pos := changedSince(t, s, "@c:x", pos)
	eq(t, "carol told of the public signatures", c, []string{"@b:x"})
	sigs, err := s.GetSignatures(ctx, []string{"@b:x"})
	must(t, err)
	eq(t, "stored", sigSet(sigs), []string{
		"@b:x/BM<-@a:x/ed25519:AP", "@b:x/BM<-@a:x/ed25519:AU", "@b:x/BP<-@a:x/ed25519:AP",
		"@b:x/BP<-@b:x/ed25519:BM", "@b:x/BS<-@b:x/ed25519:BM", "@b:x/BU<-@b:x/ed25519:BM"})
	for _, g := range sigs {
		if g.SignerKeyID == "ed25519:AP" && g.SignerKind != store.KindPublicUserSigning {
			t.Fatalf("signer kind %v", g.SignerKind)
		}
		if g.TargetKey == "BP" && g.TargetKind != store.KindPublicUserSigning {
			t.Fatalf("target kind %v", g.TargetKind)
		}
	}
	// A signature by a public user-signing key that is not the signer's
	// current one is refused.
	wantErr(t, s.PutSignatures(ctx, []store.Signature{publicSig("@a:x", "OLD", "@b:x", "BM", store.KindMaster, "x")}), store.ErrNotFound)

	// Alice rotates her PUSK: its signatures go, carol hears about bob.
	pusk(t, s, "@a:x", "AM", "AP2")
	c, pos = changedSince(t, s, "@c:x", pos)
	eq(t, "carol told of the rotation", c, []string{"@b:x"})
	sigs, _ = s.GetSignatures(ctx, []string{"@b:x"})
	eq(t, "after rotation", sigSet(sigs), []string{
		"@b:x/BM<-@a:x/ed25519:AU",
		"@b:x/BP<-@b:x/ed25519:BM", "@b:x/BS<-@b:x/ed25519:BM", "@b:x/BU<-@b:x/ed25519:BM"})
	// Signing again, twice: one public signature by alice over the key.
	must(t, s.PutSignatures(ctx, []store.Signature{publicSig("@a:x", "AP2", "@b:x", "BM", store.KindMaster, "p2")}))
	must(t, s.PutSignatures(ctx, []store.Signature{publicSig("@a:x", "AP2", "@b:x", "BM", store.KindMaster, "p3")}))
	sigs, _ = s.GetSignatures(ctx, []string{"@b:x"})
	var byAlice []string
	for _, g := range sigs {
		if g.SignerUser == "@a:x" && g.TargetKey == "BM" {
			byAlice = append(byAlice, g.SignerKeyID+"="+g.Signature)
		}
	}
	eq(t, "alice's signatures over bob's master", byAlice, []string{"ed25519:AP2=p3", "ed25519:AU=u1"})
	_, pos = changedSince(t, s, "@c:x", pos)
	_, posA := changedSince(t, s, "@a:x", 0)

	// DeleteSignatures: nothing to delete moves nothing.
	del, err := s.DeleteSignatures(ctx, "@a:x", []store.SignatureRef{
		{TargetUser: "@b:x", TargetKey: "BM", SignerKeyID: "ed25519:AP"}, // gone with the rotation
		{TargetUser: "@b:x", TargetKey: "BP", SignerKeyID: "ed25519:BM"}, // bob's, not alice's
	})
	must(t, err)
	eq(t, "nothing deleted", len(del), 0)
	c, pos2 := changedSince(t, s, "@c:x", pos)
	eq(t, "no change", c, []string(nil))
	eq(t, "position unchanged", pos2, pos)
	sigs, _ = s.GetSignatures(ctx, []string{"@b:x"})
	eq(t, "bob's own signature kept", len(sigs), 5)

	// The private one: only alice hears.
	del, err = s.DeleteSignatures(ctx, "@a:x", []store.SignatureRef{{TargetUser: "@b:x", TargetKey: "BM", SignerKeyID: "ed25519:AU"}})
	must(t, err)
	eq(t, "deleted private", del, []store.Signature{{TargetUser: "@b:x", TargetKey: "BM", TargetKind: store.KindMaster,
		SignerUser: "@a:x", SignerKeyID: "ed25519:AU", SignerKind: store.KindUserSigning, Signature: "u1"}})
	c, pos = changedSince(t, s, "@c:x", pos)
	eq(t, "carol not told of a private deletion", c, []string(nil))
	a, _ := changedSince(t, s, "@a:x", posA)
	eq(t, "alice told", a, []string{"@b:x"})

	// The public one, named twice: deleted once, carol hears.
	ref := store.SignatureRef{TargetUser: "@b:x", TargetKey: "BM", SignerKeyID: "ed25519:AP2"}
	del, err = s.DeleteSignatures(ctx, "@a:x", []store.SignatureRef{ref, ref})
	must(t, err)
	eq(t, "deleted public", del, []store.Signature{publicSig("@a:x", "AP2", "@b:x", "BM", store.KindMaster, "p3")})
	c, _ = changedSince(t, s, "@c:x", pos)
	eq(t, "carol told of a public deletion", c, []string{"@b:x"})
	sigs, _ = s.GetSignatures(ctx, []string{"@b:x"})
	eq(t, "after deletes", sigSet(sigs), []string{
		"@b:x/BP<-@b:x/ed25519:BM", "@b:x/BS<-@b:x/ed25519:BM", "@b:x/BU<-@b:x/ed25519:BM"})

	// Alice's PUSK over bob's PUSK goes when bob replaces his PUSK.
	must(t, s.PutSignatures(ctx, []store.Signature{publicSig("@a:x", "AP2", "@b:x", "BP", store.KindPublicUserSigning, "pp2")}))
	pusk(t, s, "@b:x", "BM", "BP2")
	sigs, _ = s.GetSignatures(ctx, []string{"@b:x"})
	eq(t, "after bob's rotation", sigSet(sigs), []string{
		"@b:x/BP2<-@b:x/ed25519:BM", "@b:x/BS<-@b:x/ed25519:BM", "@b:x/BU<-@b:x/ed25519:BM"})

	// Bob replaces his master key without a new PUSK: the PUSK stays, its
	// master signature goes (as for the self-signing key).
	_, err = s.PutCrossSigningKeys(ctx, store.CrossSigningUpdate{UserID: "@b:x", ExpectMaster: "BM", Keys: []store.CrossSigningKeyRecord{csKey("@b:x", store.UsageMaster, "BM2")}})
	must(t, err)
	got, _ = s.GetCrossSigningKeys(ctx, []string{"@b:x"})
	eq(t, "pusk kept", got["@b:x"][store.UsagePublicUserSigning].PublicKey, "BP2")
	sigs, _ = s.GetSignatures(ctx, []string{"@b:x"})
	eq(t, "after master replacement", sigSet(sigs), []string{})
}
