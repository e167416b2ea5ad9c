package ssss

// Secret names (account-data event types) of the secrets vouch stores. The
// constants marked "written" are the names vouch writes; ReadNames gives every
// name to try when reading. docs/ssss.md explains each choice.
const (
	// SecretCrossSigningMaster is the cross-signing master private key
	// (written and read).
	SecretCrossSigningMaster = "m.cross_signing.master"
	// SecretCrossSigningSelfSigning is the cross-signing self-signing private
	// key (written and read).
	SecretCrossSigningSelfSigning = "m.cross_signing.self_signing"
	// SecretCrossSigningUserSigning is the cross-signing user-signing private
	// key (written and read).
	SecretCrossSigningUserSigning = "m.cross_signing.user_signing"

	// SecretPublicUserSigning is the MSC2882 public user-signing private key,
	// under the name vouch writes: MSC2882 is not merged, so its unstable
	// prefix org.matrix.msc2882. replaces m., and the MSC's "cross_signig"
	// typo is corrected to match the other cross-signing secrets.
	SecretPublicUserSigning = "org.matrix.msc2882.cross_signing.public_user_signing"
	// SecretPublicUserSigningStable is the name the MSC2882 key should get once
	// the MSC is merged (read first, never written yet).
	SecretPublicUserSigningStable = "m.cross_signing.public_user_signing"
	// SecretPublicUserSigningMSC is the name as literally spelled in MSC2882
	// and seed 001, typo included (read only).
	SecretPublicUserSigningMSC = "m.cross_signig.public_user_signing"
	// SecretPublicUserSigningMSCUnstable is the literal MSC2882 name with the
	// unstable prefix applied, typo included (read only).
	SecretPublicUserSigningMSCUnstable = "org.matrix.msc2882.cross_signig.public_user_signing"

	// SecretMegolmBackup is the server-side key backup decryption key
	// (written and read).
	SecretMegolmBackup = "m.megolm_backup.v1"
	// SecretKeyBackupSigning is the backup signing private key of MSC4048 as
	// described in seed 003 (written and read). The seed's unstable prefix
	// covers only properties, not this name.
	SecretKeyBackupSigning = "m.key_backup.signing"
)

// ReadNames returns, in the order to try them, the account-data names under
// which the secret called name may be stored: the stable name first, then
// vouch's written name, then the spellings other implementations may have
// used. Any spelling of a known secret gives the same list; an unknown name
// gives a list holding just that name. The first name that holds an encrypted
// secret for the key in use wins. The slice is freshly allocated.
func ReadNames(name string) []string {
	switch name {
	case SecretPublicUserSigningStable, SecretPublicUserSigning,
		SecretPublicUserSigningMSC, SecretPublicUserSigningMSCUnstable:
		return []string{
			SecretPublicUserSigningStable,
			SecretPublicUserSigning,
			SecretPublicUserSigningMSC,
			SecretPublicUserSigningMSCUnstable,
		}
	default:
		return []string{name}
	}
}

// WriteName returns the name under which vouch writes the secret called name
// (any of its spellings): SecretPublicUserSigning for every spelling of the
// MSC2882 key, and name itself for anything else.
func WriteName(name string) string {
	switch name {
	case SecretPublicUserSigningStable, SecretPublicUserSigning,
		SecretPublicUserSigningMSC, SecretPublicUserSigningMSCUnstable:
		return SecretPublicUserSigning
	default:
		return name
	}
}
