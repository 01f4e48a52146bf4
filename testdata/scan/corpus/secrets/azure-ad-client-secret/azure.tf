resource "x" "y" {
  client_secret = "EVo9Q~hkCvzEXc~iyfQmtSINdKBocKKub5_._4jy"
}

resource "x" "y" {
  client_secret = "AvW2Q~lfN8sTGIAgTkr2mf4pIORah6c8afTKgugq"
}
