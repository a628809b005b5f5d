// A real SMTP server for the mail tests (npm smtp-server): it accepts every message and
// writes one JSON line per message to stdout — its Message-ID and recipients — so a test
// counts what a mail server actually received. Prints {"port": N} first (a free port on
// 127.0.0.1); exits when its stdin closes.
import { SMTPServer } from 'smtp-server';

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  size: 10 * 1024 * 1024,
  onData(stream, session, callback) {
    let head = '';
    stream.on('data', (chunk) => {
      if (head.length < 65536) head += chunk.toString('latin1');
    });
    stream.on('end', () => {
      const headers = head.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
      const id = /^Message-ID:[ \t]*(.+)$/im.exec(headers);
      const to = session.envelope.rcptTo.map((r) => r.address);
      process.stdout.write(JSON.stringify({ id: id ? id[1].trim() : null, to }) + '\n');
      callback();
    });
  },
});
server.on('error', (e) => process.stderr.write(`smtp-sink: ${e.message}\n`));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.server.address().port }) + '\n');
});
process.stdin.on('end', () => server.close(() => process.exit(0)));
process.stdin.resume();
