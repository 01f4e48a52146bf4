const { App } = require('@slack/bolt');
const app = new App({ token: 'xoxb-077512096707-7149530636802-YZRDi5pjoVP4EnQQGBpo8jJm' });

const { App } = require('@slack/bolt');
const app = new App({ token: 'xoxb-599215781903-3216254839876-XxXBSuQdH8DmpJ6cwEwBJuhi' });
