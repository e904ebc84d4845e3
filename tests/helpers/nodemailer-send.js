// nodemailer-send.js: nodemailer (build/node, installed by
// tests/install-deps.sh) sending to smtpd, for tests/senders-mua.bats.
//
//	node nodemailer-send.js MODE PORT [CAFILE]
//
// MODE pool: one pooled connection (maxConnections 1), 20 messages
//	handed over at once.
// MODE attach: one message with a text and an HTML part and two
//	attachments (binary bytes and UTF-8 text, both from files in
//	$ATTACH_DIR: blob.bin, notes.txt).
// MODE auth: STARTTLS required (requireTLS), the certificate checked
//	against CAFILE for "localhost", then AUTH PLAIN alice/wonderland.
//
// Prints one line per message, "N RESPONSE accepted=RCPT,...", then
// "done"; exits 1 on any error (printed).
'use strict';
const fs = require('fs');
const path = require('path');
const nodemailer = require('nodemailer');

const [mode, port, cafile] = process.argv.slice(2);
const base = {
	host: mode === 'auth' ? 'localhost' : '127.0.0.1',
	port: Number(port),
	secure: false,
	name: 'node.example',
	connectionTimeout: 10000,
	greetingTimeout: 10000,
	socketTimeout: 10000,
};

function transport()
{
	if (mode === 'pool')
		return nodemailer.createTransport({ ...base, pool: true,
		    maxConnections: 1, maxMessages: 100, ignoreTLS: true });
	if (mode === 'attach')
		return nodemailer.createTransport({ ...base, ignoreTLS: true });
	if (mode === 'auth')
		return nodemailer.createTransport({ ...base, requireTLS: true,
		    tls: { ca: fs.readFileSync(cafile), servername: 'localhost' },
		    auth: { user: 'alice', pass: 'wonderland' },
		    authMethod: 'PLAIN' });
	throw new Error('unknown mode ' + mode);
}

function messages()
{
	const from = 'Node <a@example.org>';
	if (mode === 'pool') {
		const list = [];
		for (let i = 1; i <= 20; i++)
			list.push({ from, to: 'b@example.net',
			    subject: 'pooled ' + i, text: 'message ' + i + '\n' });
		return list;
	}
	if (mode === 'attach') {
		const dir = process.env.ATTACH_DIR;
		return [{ from, to: ['b@example.net', 'c@example.net'],
		    subject: 'attachments, Grüße',
		    text: 'the text part\n', html: '<p>the <b>HTML</b> part</p>',
		    attachments: [
			{ filename: 'blob.bin', path: path.join(dir, 'blob.bin'),
			  contentType: 'application/octet-stream' },
			{ filename: 'notizen-ü.txt',
			  content: fs.readFileSync(path.join(dir, 'notes.txt')),
			  contentType: 'text/plain; charset=utf-8' },
		    ] }];
	}
	return [{ from, to: 'b@example.net', subject: 'auth after STARTTLS',
	    text: 'authenticated\n' }];
}

async function main()
{
	const t = transport();
	// all at once: the pool queues them on its one connection
	const results = await Promise.all(messages().map((m) => t.sendMail(m)));
	results.forEach((info, i) => {
		console.log(`${i + 1} ${info.response} accepted=${info.accepted.join(',')}`);
	});
	t.close();
	console.log('done');
}

main().catch((e) => {
	console.log('error: ' + (e && e.message));
	process.exit(1);
});
