#!/bin/sh
export GH_TOKEN="ghp_rhZIDDDyXzWFrCUnWR1WRuVlaba63dICkcqF"
gh release create "$TAG"

#!/bin/sh
export GH_TOKEN="ghp_slfWT4uHTQXqxm1PA7ZBF8i5R9sSL804TGXD"
gh release create "$TAG"
