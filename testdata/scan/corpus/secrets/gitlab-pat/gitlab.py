import gitlab
gl = gitlab.Gitlab("https://gitlab.example.org", private_token="glpat-Xu4cnUkKJjMoWKMOGDlX")

import gitlab
gl = gitlab.Gitlab("https://gitlab.example.org", private_token="glpat-cIihJYneUrr5Q0ZlCqXw")
