package main
const twilioKey = "SK337692225de6ea57acd2862518a159af"

package main
const twilioKey = "SKe911e73cd9fbbd5fe8b40c9194736083"
