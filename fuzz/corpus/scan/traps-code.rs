let password = std::env::var("DB_PASSWORD")?;
let token = Token::new(TokenKind::Ident, span);
fn secret(&self) -> &SecretString { &self.secret }
pub const TOKEN_LEN: usize = 32;
let api_key = config.api_key.clone();
match token { Token::Eof => break, _ => {} }
assert_eq!(secret.expose_secret(), "hunter2");
const PASSWORD_PROMPT: &str = "Enter password: ";
