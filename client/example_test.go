package client_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"

	"vouch/client"
	"vouch/client/device"
)

// A user's first device: log in, publish the device, bootstrap
// cross-signing, then verify another user whose fingerprint was compared
// out of band, and ask for the trust view.
func Example() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8008")
	if err != nil {
		log.Fatal(err)
	}
	login, err := c.Login(ctx, "@alice:localhost", "password", "", "laptop")
	if err != nil {
		log.Fatal(err)
	}
	dev, err := device.New(login.UserID, login.DeviceID, rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	save := &memSaver{} // persist secrets for real: see package client/state
	res, err := client.Bootstrap(ctx, c, dev, client.BootstrapOptions{Rand: rand.Reader, Save: save})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("my fingerprint:", client.FormatFingerprint(res.Master))

	me := client.TrustInputs{UserID: login.UserID, OwnMaster: res.Master}
	if _, err := client.VerifyUser(ctx, c, me, res.Keys, "@bob:localhost", "nqOv zeuG WT/s ..."); err != nil {
		log.Fatal(err) // client.ErrFingerprintMismatch when the fingerprints differ
	}
	tv, err := client.BuildTrustView(ctx, c, me, "@bob:localhost")
	if err != nil {
		log.Fatal(err)
	}
	bob := tv.Users["@bob:localhost"]
	fmt.Println(bob.Verified, bob.Decision.Reason)
}
