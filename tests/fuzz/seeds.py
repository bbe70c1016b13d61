#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora, tests/fuzz/corpus/TARGET/NAME: small, readable
inputs that each reach one case (every placeholder, every kind of invalid
UTF-8, each answer of the supervisor, each configuration mistake, a real
spool entry and each way one goes bad). Run it after changing an input
format; it only overwrites the files it writes (reproducers moved into a
corpus stay)."""
import os
import zlib
base = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
def put(target, name, data):
    if isinstance(data, str):
        data = data.encode('utf-8', 'surrogateescape')
    os.makedirs(os.path.join(base, target), exist_ok=True)
    with open(os.path.join(base, target, name), 'wb') as f:
        f.write(data)

# ---- template: pieces separated by NUL ----
fields = ['web1', 'processes', 'nginx', 'ps_count', '', 'Processes "nginx" is down: 0 < 1']
def tmpl(text, metas=(), sev=b'\x01', time=(1764331200 << 30) + (123 << 30) // 1000,
         task='restart-nginx', flds=fields):
    parts = [text.encode('utf-8', 'surrogateescape')] + [f.encode('utf-8', 'surrogateescape') for f in flds]
    parts.append(task.encode())
    parts.append(sev + (b'%d' % time if isinstance(time, int) else time))
    parts += [m.encode('utf-8', 'surrogateescape') if isinstance(m, str) else m for m in metas]
    return b'\0'.join(parts)
allph = ('%{severity} %{time} %{host} %{plugin} %{plugin_instance} %{type} '
         '%{type_instance} %{message} %{task} %{meta:CurrentValue} %{meta:DataSource}')
put('template', 'every-placeholder', tmpl(allph, ['dCurrentValue=0', 'sDataSource=value']))
put('template', 'threshold-meta', tmpl('%{meta:CurrentValue} %{meta:WarningMin} %{meta:WarningMax} %{meta:FailureMin} %{meta:FailureMax}',
    ['dCurrentValue=30.5', 'dWarningMin=nan', 'dWarningMax=1e+21', 'dFailureMin=-inf', 'dFailureMax=inf']))
put('template', 'meta-types', tmpl('s=%{meta:s} i=%{meta:i} u=%{meta:u} b=%{meta:b} x=%{meta:x} d=%{meta:d} absent=%{meta:none} null=%{meta:n}',
    ['ss=str', 'ii=-9223372036854775808', 'uu=18446744073709551615', 'bb=true', 'xx=7ff8000000000001', 'dd=0.25', 'nn=']))
put('template', 'doubles', tmpl('%{meta:a}|%{meta:b}|%{meta:c}|%{meta:d}|%{meta:e}|%{meta:f}',
    ['da=0.0001', 'db=9.999999999999999e15', 'dc=1e16', 'dd=5e-324', 'de=-0', 'df=1.7976931348623157e308']))
put('template', 'percent-literals', tmpl('disk at 90% (100%% sure) %%{host} %', []))
put('template', 'plain', tmpl('restart it', []))
put('template', 'unknown-sev', tmpl('%{severity} at %{time}', [], sev=b'\x07', time=b'0x3fffffff'))
put('template', 'warning-okay', tmpl('%{severity}:%{time}', [], sev=b'\x02', time=0))
put('template', 'okay-max-time', tmpl('%{severity}%{severity}', [], sev=b'\x04', time=b'0xffffffffffffffff'))
put('template', 'control-bytes', tmpl('%{message}%{host}', [],
    flds=['h\x01"\\', 'p', 'pi', 't', 'ti', 'a "quoted" \\ back\tslash\x7f\xff\xc0\xaf\xed\xa0\x80 end']))
put('template', 'long-fields', tmpl('%{host}%{message}%{meta:' + 'm' * 127 + '}', ['s' + 'm' * 127 + '=' + 'v' * 300],
    flds=['h' * 200, 'p' * 127, 'i' * 127, 't' * 127, 'u' * 127, 'M' * 400]))
put('template', 'bad-unknown', tmpl('%{hostname}'))
put('template', 'bad-empty', tmpl('%{} and %{meta:}'))
put('template', 'bad-unterminated', tmpl('load %{meta:CurrentValue'))
put('template', 'bad-meta-too-long', tmpl('%{meta:' + 'x' * 128 + '}'))
put('template', 'utf8', tmpl('Störung auf %{host} — %{message} ✓', [], flds=['hôte', 'p', '', '', '', 'наличие 𝄞']))

# ---- json: task id, then arguments, separated by 0x1E ----
RS = b'\x1e'
def jb(*parts):
    return RS.join(p.encode('utf-8', 'surrogateescape') if isinstance(p, str) else p for p in parts)
ID = '5f0c1a2b3c4d5e6f7a8b9c0d'
put('json', 'default-args', jb(ID, 'FAILURE', '1764331200.123', 'web1', 'processes', 'nginx', 'ps_count', '', 'nginx is down'))
put('json', 'no-args', jb(ID))
put('json', 'empty-args', jb(ID, '', '', ''))
put('json', 'escapes', jb(ID, 'a "quoted" word', 'back\\slash', 'tab\tnew\nline\r', '\x00nul\x00inside', '\x01\x1f\x7f', '</script>/'))
put('json', 'valid-utf8', jb(ID, 'é', '€', '𝄞', 'наличие', '\u2028\u2029', '\ufeffbom', '\U0010ffff'))
put('json', 'stray-continuation', jb(ID, b'\x80', b'a\xbfb', b'\x80\x80\x80'))
put('json', 'cut-off', jb(ID, b'\xe2\x82', b'\xf0\x9f\x98', b'end\xc3'))
put('json', 'overlong', jb(ID, b'\xc0\xaf', b'\xc1\xbf', b'\xe0\x80\xaf', b'\xf0\x80\x80\xaf', b'\xe0\x9f\xbf'))
put('json', 'surrogates', jb(ID, b'\xed\xa0\x80', b'\xed\xbf\xbf', b'\xed\xa0\x80\xed\xb0\x80', b'\xed\x9f\xbf'))
put('json', 'beyond-max', jb(ID, b'\xf4\x90\x80\x80', b'\xf5\x80\x80\x80', b'\xf8\x88\x80\x80\x80', b'\xfe\xff'))
put('json', 'mixed', jb(b'5f0c\xff1a2b', b'ok \xe2\x82\xac then \xe2\x82 cut, \xc3\xa9 \xf0\x9f\x98\x80 \xed\xa0\x80 x\xc0', b'\xff' * 16))
put('json', 'invalid-task-id', jb(b'\xe0\x80"\\\x01', 'arg'))
put('json', 'kuhn-boundaries', jb(ID, b'\x00', b'\xc2\x80', b'\xe0\xa0\x80', b'\xf0\x90\x80\x80', b'\x7f', b'\xdf\xbf', b'\xef\xbf\xbf', b'\xf4\x8f\xbf\xbf', b'\xef\xbf\xbe'))

# ---- response: an HTTP answer ----
def resp(status_line, headers, body, eol='\r\n'):
    head = status_line + eol + ''.join(h + eol for h in headers) + eol
    return head.encode() + (body.encode() if isinstance(body, str) else body)
JOB = ('{"id":"6929a7c0e4b0a1b2c3d4e5f6","lifecycle":"ready","state":"in_progress",'
       '"task_id":"5f0c1a2b3c4d5e6f7a8b9c0d","name":"restart-nginx","type":"Job",'
       '"task_arguments_values":["web1","nginx","nginx is down"],"secret":"x",'
       '"creation_date":"2025-11-28T12:00:00.123Z"}')
CT = ['Content-Type: application/json; charset=utf-8', 'Connection: keep-alive']
put('response', '200-job', resp('HTTP/1.1 200 OK', CT + ['Content-Length: %d' % len(JOB)], JOB))
put('response', '200-terminated', resp('HTTP/1.1 200 OK', CT, '{"id":"j2","lifecycle":"terminated","state":"error","task":{"id":1}}'))
put('response', '200-state-error', resp('HTTP/1.1 200 OK', CT, '{"id":"j3","lifecycle":"ready","state":"error"}'))
put('response', '200-no-job', resp('HTTP/1.1 200 OK', CT, '{"message":"queued"}'))
put('response', '200-not-json', resp('HTTP/1.1 200 OK', ['Content-Type: text/html'], '<html>ok</html>'))
put('response', '200-empty', resp('HTTP/2 200', [], ''))
put('response', '400-invalid-args', resp('HTTP/1.1 400 Bad Request', CT,
    '{"statusCode":400,"message":"Invalid Task Arguments: argument 3 (message) is required","error":"Bad Request"}'))
put('response', '403-invalid-secret', resp('HTTP/1.1 403 Forbidden', CT, '"invalid secret"'))
put('response', '404-organization', resp('HTTP/1.1 404 Not Found', CT, '{"statusCode":404,"message":"organization not found"}'))
put('response', '401-html', resp('HTTP/1.1 401 Unauthorized', ['Content-Type: text/html'],
    b'<h1>Unauthorized</h1>\n\x01\xff\xc3\xa9 ' + b'x' * 300))
put('response', '429-retry-seconds', resp('HTTP/1.1 429 Too Many Requests', ['Retry-After: 120'] + CT, '{"message":"slow down"}'))
put('response', '503-retry-date', resp('HTTP/1.1 503 Service Unavailable', ['retry-after: Fri, 28 Nov 2025 12:02:00 GMT', 'Server: nginx'], 'busy'))
put('response', '503-retry-rfc850', resp('HTTP/1.1 503 Service Unavailable', ['Retry-After:   Friday, 28-Nov-25 12:00:30 GMT  '], ''))
put('response', '503-retry-asctime', resp('HTTP/1.0 503 Service Unavailable', ['RETRY-AFTER: Fri Nov 28 11:00:00 2025'], ''))
put('response', '502-retry-bad', resp('HTTP/1.1 502 Bad Gateway', ['Retry-After: 1.5', 'Retry-After: -3', 'Retry-After: 0x10',
    'Retry-After: 1e3', 'Retry-After:', 'Retry-After: ' + '9' * 120, 'Retry-After: 99999999999999999999'], '<html>bad gateway</html>'))
put('response', '500-object-message', resp('HTTP/1.1 500 Internal Server Error', CT,
    '{"statusCode":500,"message":"internal\\nerror \\u0007 \\u00e9 \\ud83d\\ude00"}'))
put('response', '408-timeout', resp('HTTP/1.1 408 Request Timeout', ['Connection: close'], ''))
put('response', '301-redirect', resp('HTTP/1.1 301 Moved Permanently', ['Location: https://supervisor.theeye.io/job'], ''))
put('response', 'lf-only', resp('HTTP/1.1 503 Slow', ['Retry-After: 5'], '{"message":["not","a","string"]}', eol='\n'))
put('response', 'no-answer-connect', b'\x07\x00')          # CURLE_COULDNT_CONNECT, nothing written
put('response', 'no-answer-timeout', b'\x1c\x01')          # CURLE_OPERATION_TIMEDOUT after a write
put('response', 'no-answer-empty-reply', b'\x34\x02')      # CURLE_GOT_NOTHING
put('response', 'no-answer-aborted', b'\x2a\x01')          # CURLE_ABORTED_BY_CALLBACK
put('response', 'no-answer-tls', b'\x3c\x00')              # CURLE_PEER_FAILED_VERIFICATION

# ---- spool: entries as nt_spool_encode writes them, format version 3
# (zlib.crc32 is the same CRC-32 as spool.c's) ----
MAGIC = b'notify_theeye spool 3\n'
TID = '5f0c1a2b3c4d5e6f7a8b9c0d'
EPISODE = '8c3f00d1e2a4b5c6'
def entry(seq, arrival, attempts, task, body, crc=True, taskid=TID, magic=MAGIC, episode=EPISODE):
    if isinstance(body, str):
        body = body.encode()
    if isinstance(task, str):
        task = task.encode()
    d = magic + b'seq %d\narrival %.6f\nattempts %d\ntask ' % (seq, arrival, attempts) + task + \
        (b'\ntaskid ' + taskid.encode() if taskid is not None else b'') + \
        (b'\nepisode ' + episode.encode() if episode is not None else b'') + \
        b'\nbody %d\n' % len(body) + body + b'\n'
    if crc:
        d += b'crc32 %08x\n' % zlib.crc32(d)
    return d
BODY = '{"task":"5f0c1a2b3c4d5e6f7a8b9c0d","task_arguments":["FAILURE","1764331200.123","web1","processes","nginx","ps_count","","nginx is down"]}'
put('spool', 'entry', entry(42, 1764331200.123456, 0, 'restart-nginx', BODY))
put('spool', 'entry-retried', entry(1000001, 1764331260.5, 4, 'clean-disk', '{"task":"5f0c1a2b3c4d5e6f7a8b9c0d","task_arguments":["%{x}"]}'))
put('spool', 'entry-empty-body', entry(0, 0, 0, 't', ''))
put('spool', 'entry-binary-body', entry(7, 1.0, 1, 'a task with spaces', b'line1\nline2\r\n\x00\xff\xfe crc32 00000000\n'))
put('spool', 'entry-max-seq', entry(18446744073709551615, 1e15, 1000000, 'T\xc3\xa9che'.encode('latin-1'), BODY,
                                    taskid='ABCDEF0123456789abcdef01'))
put('spool', 'torn', entry(43, 1764331200.5, 0, 'restart-nginx', BODY)[:120])
good = bytearray(entry(44, 1764331201.0, 2, 'restart-nginx', BODY))
good[60] ^= 0x01
put('spool', 'crc-mismatch', bytes(good))
bad_len = entry(45, 1764331202.0, 0, 'restart-nginx', BODY, crc=False).replace(b'body %d' % len(BODY), b'body %d' % (len(BODY) + 1))
put('spool', 'length-mismatch', bad_len + b'crc32 %08x\n' % zlib.crc32(bad_len))
put('spool', 'no-crc', entry(46, 1764331203.0, 0, 'restart-nginx', '{}', crc=False))
odd = MAGIC + b'seq 1\narrival inf\nattempts 0\ntask x\ntaskid ' + TID.encode() + b'\nepisode ' + EPISODE.encode() + b'\nbody 2\n{}\n'
put('spool', 'arrival-inf', odd + b'crc32 %08x\n' % zlib.crc32(odd))
neg = MAGIC + b'seq -1\narrival -5\nattempts 1000001\ntask \ntaskid \nepisode 0\nbody 99999999999999999999\n{}\n'
put('spool', 'bad-fields', neg + b'crc32 %08x\n' % zlib.crc32(neg))
# 1.0's format, without the episode: resumed.
put('spool', 'version-2', entry(52, 1764331208.0, 0, 'restart-nginx', BODY, episode=None,
                                magic=b'notify_theeye spool 2\n'))
put('spool', 'episode-missing', entry(53, 1764331209.0, 0, 'restart-nginx', '{}', episode=None))
put('spool', 'episode-upper', entry(54, 1764331210.0, 0, 'restart-nginx', '{}', episode=EPISODE.upper()))
# The format before TaskIDs were kept: refused, moved aside.
put('spool', 'version-1', entry(47, 1764331204.0, 1, 'restart-nginx', '{}', taskid=None, episode=None,
                                magic=b'notify_theeye spool 1\n'))
put('spool', 'taskid-short', entry(48, 1764331205.0, 0, 'restart-nginx', '{}', taskid=TID[:-1]))
put('spool', 'taskid-not-hex', entry(49, 1764331206.0, 0, 'restart-nginx', '{}', taskid='5f0c1a2b3c4d5e6f7a8b9c0g'))
put('spool', 'taskid-missing', entry(50, 1764331207.0, 0, 'restart-nginx', '{}', taskid=None))
nul = MAGIC + b'seq 51\narrival 1.0\nattempts 0\ntask a\x00b\ntaskid ' + TID.encode() + b'\nepisode ' + EPISODE.encode() + b'\nbody 2\n{}\n'
put('spool', 'nul-in-task', nul + b'crc32 %08x\n' % zlib.crc32(nul))

# ---- config: collectd's syntax, "---" between <Plugin> blocks ----
put('config', 'minimal', '''URL "http://127.0.0.1:8080"
<Task "restart-nginx">
  TaskID "5f0c1a2b3c4d5e6f7a8b9c0d"
  Secret "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
</Task>
''')
put('config', 'spec-example', '''URL        "https://supervisor.theeye.io"
Customer   "acme"
Timeout    5000
<Task "restart-nginx">
  TaskID         "5f0c1a2b3c4d5e6f7a8b9c0d"
  SecretFile     "secret"
  Severity       "FAILURE"
  Plugin         "processes"
  PluginInstance "nginx"
  Argument       "%{host}"
  Argument       "%{plugin_instance}"
  Argument       "%{message}"
  Cooldown       300
</Task>
''')
put('config', 'every-option', '''URL "https://supervisor.example.com/api/"
Customer "acme corp"
Timeout 2500
ConnectTimeout 1000
VerifyPeer false
VerifyHost "no"
CACert "/etc/ssl/certs/ca.pem"
CAPath "/etc/ssl/certs"
ClientCert "/etc/collectd/client.pem"
ClientKey "/etc/collectd/client.key"
ClientKeyPass "hunter2"
Proxy "http://proxy:3128"
Header "X-Fleet: eu-west"
Header "X-Trace: 1"
QueueLimit 50
MaxAttempts 3
RetryInterval 0.5
MaxRetryInterval 30
MaxAge 120
DryRun true
SpoolDir "/var/lib/collectd/theeye"
SpoolLimit 100
<Task "disk">
  TaskID "AAAABBBBCCCCDDDDEEEEFFFF"
  AccessTokenFile "token"
  Severity "warning" "Failure" "OKAY"
  Host "web1" "/^db[0-9]+$/"
  Plugin "df"
  PluginInstance "/root|var/"
  Type "percent_bytes"
  TypeInstance "used"
  Message "/above threshold/"
  Argument "%{severity}" "%{time}"
  Argument "%{meta:CurrentValue} of %{meta:FailureMax} on %{host} (100%)"
  Argument "%{type}/%{type_instance} %% %{task}"
  Cooldown 0.5
  URL "http://10.0.0.1:60080"
  Customer "other"
  Timeout 1000
  ConnectTimeout 500
</Task>
<Task "no-customer">
  TaskID "5f0c1a2b3c4d5e6f7a8b9c0d"
  SecretFile "secret-upper"
</Task>
''')
put('config', 'two-blocks', '''URL "http://127.0.0.1:8080"
<Task "a">
  TaskID "5f0c1a2b3c4d5e6f7a8b9c0d"
  AccessToken "eyJhbGciOiJIUzI1NiJ9.payload.sig"
</Task>
---
Customer "acme"
<Task "b">
  TaskID "5f0c1a2b3c4d5e6f7a8b9c0d"
  SecretFile "secret-group"
  Cooldown 10
</Task>
---
URL "https://other.example:8443/base"
MaxAttempts 1
''')
T = '<Task "%s">\n  TaskID "5f0c1a2b3c4d5e6f7a8b9c0d"\n  %s\n</Task>'
def blocks(name, items, pre='URL "http://localhost"\n'):
    put('config', name, pre + '\n---\n'.join(T % it for it in items) + '\n')
blocks('files', [('f1', 'SecretFile "missing"'), ('f2', 'SecretFile "dir"'),
                 ('f3', 'AccessTokenFile "big"'), ('f4', 'AccessTokenFile "max"')])
blocks('files2', [('f5', 'SecretFile "secret-bad"'), ('f6', 'AccessTokenFile "token-space"'),
                  ('f7', 'SecretFile "empty"'), ('f8', 'SecretFile "blank"')])
blocks('files3', [('f9', 'SecretFile "secret-short"'), ('f10', 'AccessTokenFile "huge"'),
                  ('f11', 'SecretFile "token"'), ('f12', 'AccessTokenFile "/etc/shadow"')])
S = 'Secret "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"'
blocks('errors-task', [('e1', S + '\n  AccessToken "tok"'), ('e2', S + '\n  Severity "CRITICAL"'),
                       ('e3', S + '\n  Host "/(unclosed/"'), ('e4', S + '\n  Argument "%{unknown}"')])
blocks('errors-task2', [('e5', S + '\n  Argument "%{meta:}"'), ('e6', S + '\n  Argument "%{host"'),
                        ('e7', S + '\n  Cooldown -1'), ('e8', S + '\n  Bogus 1\n  Timeout 0')])
put('config', 'errors-global', '\n---\n'.join([
    'URL "ftp://127.0.0.1/job/secret/x?customer=a#f"', 'Timeout 0', 'QueueLimit -1',
    'MaxAttempts 1.5']) + '\n')
put('config', 'errors-global2', '\n---\n'.join([
    'RetryInterval nan', 'MaxAge 1e400', 'Header "no colon"', 'Customer ""']) + '\n')
put('config', 'errors-global3', '\n---\n'.join([
    'SpoolDir "relative/dir"', 'VerifyPeer "maybe"', 'Unknown "option"']) + '\n')
blocks('files4', [('f13', 'SecretFile "secret-crlf"'), ('f14', 'SecretFile "secret-nul"'),
                  ('f15', 'AccessTokenFile "secret-nul"'), ('f16', 'SecretFile "secret"\n  SecretFile "secret-upper"')])
put('config', 'task-names', '''URL "http://127.0.0.1:8080"
<Task "">
</Task>
---
<Task "a/b">
</Task>
---
<Task 42>
</Task>
---
<Task "dup">
  TaskID "5f0c1a2b3c4d5e6f7a8b9c0d"
  Secret "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
</Task>
<Task "dup">
  TaskID "5f0c1a2b3c4d5e6f7a8b9c0d"
  Secret "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
</Task>
''')
put('config', 'no-url', '''<Task "no-url">
  TaskID "5f0c1a2b3c4d5e6f7a8b9c0d"
  Secret "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  <Nested "x">
    Deeper true
  </Nested>
</Task>
''')
put('config', 'empty-block', '# only a comment\n')
