import requests
HOOK = "https://hooks.slack.com/services/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"
requests.post(HOOK, json={'text': 'hi'})

import requests
HOOK = "https://hooks.slack.com/services/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"
requests.post(HOOK, json={'text': 'hi'})
