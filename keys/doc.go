// Package keys is the model of the keys that Matrix cross-signing talks
// about: user and device identifiers, device keys and the four kinds of
// cross-signing key (master signing, self-signing, user-signing and the
// MSC2882 public user-signing key), with the structural rules each must obey.
//
// Every parser here takes raw, untrusted JSON and returns either a value
// that passed its checks or an error wrapping one of the sentinels in
// errors.go; none panics. The parsed values keep the raw bytes they came
// from (Raw), because signatures are checked over exactly those bytes.
//
// What it is not: keys knows which key ought to have signed an object (the
// master signing key signs the self-signing key, a device signs itself) but
// it does not decide whom to trust. Chains of signatures, pinning and
// identity changes live in package trust; who may see a signature is also
// decided there.
package keys
