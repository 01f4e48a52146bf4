package client

const apiKey = "c08579b0bd4f63ccb17fc8bde82adbb4952832e3"

package client

const apiKey = "1fabbdb09b18f5a22aa571a5b69ab547f4e8cb95"
