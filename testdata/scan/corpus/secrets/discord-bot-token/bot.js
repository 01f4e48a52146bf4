const { Client } = require('discord.js');
client.login('NDU3NDE3NTc0NjM3MzUyMjM0.nssQNM.kdkOsDbzZ3qAAEW8-HZqJLGgmnvmdCUpbWYiuk');

const { Client } = require('discord.js');
client.login('MTg1MTEzNjE5Njk2NjA3NTA1Mw._xaP-P.WtlhGFQktNjYKqqWp9f7wPtewsgYqvBJQTdJV1');
