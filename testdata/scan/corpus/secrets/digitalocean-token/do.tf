provider "digitalocean" {
  token = "dop_v1_1962828e47847fb2c23a431baf6f3d68a356356c9652322e188b82e7211265b8"
}

provider "digitalocean" {
  token = "dop_v1_33da909355a8d3a401fad7c4c8424179bf63ed1b052cf72f15b6600cc0873420"
}
