password = os.environ['DB_PASSWORD']
token = request.headers.get('Authorization')
secret = settings.SECRET_KEY
api_key = get_api_key(user)
if password == confirm_password:
def check_password(password, hashed):
self.token = token
password = getpass.getpass('Password: ')
TOKEN_RE = re.compile(r'^[A-Za-z0-9]{32}$')
secret_len = len(secret)
tokenizer = Tokenizer(vocab)
print(f'token expires at {expiry}')
raise ValueError('invalid password')
password_hash = bcrypt.hashpw(password, salt)
auth_token = None
api_key: str = Field(..., env='API_KEY')
