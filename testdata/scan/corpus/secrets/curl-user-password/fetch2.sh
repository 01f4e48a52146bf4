curl -u admin:Fxy30QyUEC2pr4NA https://ci.internal/api/json

curl -u admin:wGaAPYUAtef5KCrm https://ci.internal/api/json
