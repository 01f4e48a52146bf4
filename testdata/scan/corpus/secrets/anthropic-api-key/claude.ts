import Anthropic from '@anthropic-ai/sdk';
const client = new Anthropic({ apiKey: 'sk-ant-api03-_XMQvz6b1qTc9IkiSdLER1by4hZTQeuUzKD7RhEWddATHPlkWYsWi73CuxaauqKD1i8Xae9FFWjBLcwf5k1YTb4qtXYaVAA' });

import Anthropic from '@anthropic-ai/sdk';
const client = new Anthropic({ apiKey: 'sk-ant-api03-rGeHz4vAznSQZ1hta-o0sIO_rafa_bpOs4Yc8m6qf2DcwOd2clvkwQN9-FuYdjU4jAqEuT-lGZGnqfiiwv4ovP580w_IGAA' });
