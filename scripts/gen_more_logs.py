#!/usr/bin/env python3
"""Deterministic synthetic logs with ground truth for the services gen_logs.py does not cover
(stdlib only): Postfix (syslog), MySQL/MariaDB error log, Windows Security events (Winlogbeat or
NXLog JSON, one object a line).

    gen_more_logs.py postfix --lines 100000 --seed 1 --out mail.log    [--truth mail.truth.json]
    gen_more_logs.py mysql   --lines 100000 --seed 1 --out mysql.log   [--flavor mysql8|mariadb]
    gen_more_logs.py windows --lines 100000 --seed 1 --out windows.log [--shipper winlogbeat|nxlog]

Replay them with `palisade replay --type syslog|mysql|windows -o json LOG` and score with
../shared/bench/score.py. The truth file has the format gen_logs.py writes (and score.py reads):
{"ips": [{"ip", "malicious", "expect_detect", "category", "kinds", ...per-IP statistics}], ...}.

Same arguments => byte-identical output (random.Random(seed) only; no wall clock, no set or
dict-order dependence). The log has exactly --lines lines, time-ordered, over --hours hours from
--start (UTC). Every actor (one attack campaign, one user session) owns its events; attacker
addresses are unique to one attacker, benign addresses may be reused across sessions (an office
NAT, a mail provider), false-positive bait gets fresh addresses so that per-kind results are not
mixed. Lines that are no actor's (cron-like noise, other events) fill the log to --lines.

Thresholds the expect_detect flag refers to (THRESHOLDS below): a brute force is >= 5 failed
logins within about a minute, or sustained >= 5 per 10 minutes; mail abuse is >= 6 refused
recipients or protocol violations within about a minute. Kinds designed to stay below them are
malicious with expect_detect false (detecting them is not a false positive, missing them is not a
miss); benign kinds include users mistyping 3 times before logging in, phones retrying an old
password every 12-30 minutes, mail clients that forgot SMTP AUTH, greylisted legitimate servers.
"""
import argparse
import datetime
import json
import random
import sys

MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

THRESHOLDS = {
    'bf_fast': '>=5 failed logins within about 60 s (5 within 25 s is always above)',
    'bf_slow': '>=5 failed logins within 10 min, sustained (one every 60-110 s for 20+ minutes)',
    'smtp_abuse': '>=6 refused recipients (relay denied, blocklisted client, bad HELO) or SMTP protocol '
                  'violations (non-SMTP commands, pregreet, pipelining) within about 60 s',
    'note': 'one failed login = one line: Postfix "SASL ... authentication failed", MySQL "Access denied '
            'for user", Windows event 4625; a successful login (Postfix client=... sasl_username=, Windows 4624 '
            'that is not ANONYMOUS LOGON) forgives earlier failures; MySQL logs no successful login',
}

KIND_DOC = {
    # postfix, malicious
    'smtp-sasl-bf-fast': 'SMTP AUTH brute force: 20-150 failed SASL logins, 1-6 s apart, 1-3 per connection',
    'smtp-sasl-bf-just-above': 'exactly 5-6 failed SASL logins within <=25 s, then stops',
    'smtp-sasl-bf-just-below': '3-4 failed SASL logins over 40-90 s; optionally a 2nd burst >=50 min later',
    'smtp-sasl-bf-slow': 'one failed SASL login every 60-110 s for 20-60 min',
    'smtp-sasl-bf-very-slow': 'one failed SASL login every 5-15 min for 1.5-4 h (below thresholds)',
    'smtp-sasl-distributed': 'botnet member: 1-2 failed SASL logins in total from this address',
    'smtp-relay-abuse': 'open relay probing: 8-40 "Relay access denied" recipients, 2-5 per connection, 1-4 s apart',
    'smtp-rbl-spammer': 'blocklisted spam bot: 6-20 recipients rejected "blocked using", 0.5-3 s apart',
    'smtp-rbl-single': 'blocklisted spam bot trying 1-3 recipients once',
    'smtp-bad-helo-bot': 'spam bot with an invalid HELO: 6-20 recipients rejected "Helo command rejected", 1-3 s apart',
    'smtp-protocol-bot': 'spam bot violating the protocol: 6-15 pregreet / pipelining / non-SMTP events, 2-8 s apart',
    'smtp-web-scanner': 'HTTP scanner hitting the SMTP port: 1-2 non-SMTP commands',
    'smtp-sasl-bf-internal': 'fast SMTP AUTH brute force from an RFC1918 address (whitelisted)',
    # postfix, benign
    'benign-smtp-sender': 'legitimate MTA delivering 1-5 messages; sometimes greylisted first (retries 5-15 min '
                          'later) or one mistyped recipient (550 User unknown)',
    'benign-smtp-user': 'mail client submitting with SASL: 0-2 password typos, then a successful login',
    'benign-smtp-forgetful': '3 password typos 5-20 s apart, then a successful login (false-positive bait)',
    'benign-smtp-stale-client': 'phone with an old password: one failed SASL login every 12-30 min for 1-3 h '
                                '(false-positive bait)',
    'benign-smtp-no-auth-client': 'mail client that forgot SMTP AUTH: one message to 1-4 recipients refused '
                                  '"Relay access denied", then sent with SASL 1-3 min later (false-positive bait)',
    # mysql, malicious
    'mysql-bf-fast': 'MySQL brute force: 20-300 refused logins, 0.5-4 s apart',
    'mysql-bf-just-above': 'exactly 5-6 refused logins within <=25 s, then stops',
    'mysql-bf-just-below': '3-4 refused logins over 40-90 s; optionally a 2nd burst >=50 min later',
    'mysql-bf-slow': 'one refused login every 60-110 s for 20-60 min',
    'mysql-bf-very-slow': 'one refused login every 5-15 min for 1.5-4 h (below thresholds)',
    'mysql-scanner': 'scanner: 1-2 logins without a password (using password: NO)',
    'mysql-bf-internal': 'fast MySQL brute force from an RFC1918 address (whitelisted)',
    # mysql, benign
    'benign-mysql-typo': 'DBA or developer connecting remotely with 1-3 mistyped passwords (success is not logged)',
    'benign-mysql-typo-twice': '2 typos, and 2 more 25-40 min later (false-positive bait)',
    # windows, malicious
    'rdp-bf-fast': 'RDP brute force: 30-300 failed logons (4625, logon type 3 with NLA or 10), 0.5-3 s apart',
    'rdp-bf-just-above': 'exactly 5-6 failed logons within <=25 s, then stops',
    'rdp-bf-just-below': '3-4 failed logons over 40-90 s; optionally a 2nd burst >=50 min later',
    'rdp-bf-slow': 'one failed logon every 60-110 s for 20-60 min',
    'rdp-bf-very-slow': 'one failed logon every 5-15 min for 1.5-4 h (below thresholds)',
    'smb-bf': 'SMB brute force: an anonymous null session (4624 ANONYMOUS LOGON), then 10-80 failed network logons',
    'rdp-spray-distributed': 'password-spraying botnet member: 1-2 failed logons in total',
    'rdp-bf-internal': 'fast RDP brute force from an RFC1918 address (whitelisted)',
    # windows, benign
    'benign-rdp-user': 'remote desktop user: 0-2 typos (4625), then logon (4624 type 3 then 10), later logoff',
    'benign-rdp-forgetful': '3 typos 5-20 s apart, then logon (false-positive bait)',
    'benign-smb-user': 'file share user: 2-10 network logons (4624 type 3) a few minutes apart',
}

# kind -> (weight, expect_detect, category)
POSTFIX_ATTACK = {
    'smtp-sasl-bf-fast': (3, True, 'above_threshold'),
    'smtp-sasl-bf-just-above': (3, True, 'above_threshold'),
    'smtp-sasl-bf-just-below': (3, False, 'below_threshold'),
    'smtp-sasl-bf-slow': (2, True, 'above_threshold'),
    'smtp-sasl-bf-very-slow': (2, False, 'below_threshold'),
    'smtp-sasl-distributed': (2, False, 'below_threshold'),
    'smtp-relay-abuse': (2, True, 'above_threshold'),
    'smtp-rbl-spammer': (2, True, 'above_threshold'),
    'smtp-rbl-single': (4, False, 'below_threshold'),
    'smtp-bad-helo-bot': (1, True, 'above_threshold'),
    'smtp-protocol-bot': (1, True, 'above_threshold'),
    'smtp-web-scanner': (2, False, 'below_threshold'),
    'smtp-sasl-bf-internal': (0.3, True, 'whitelisted_private'),
}
POSTFIX_BENIGN = {
    'benign-smtp-sender': (20, False, 'benign'),
    'benign-smtp-user': (20, False, 'benign'),
    'benign-smtp-forgetful': (1, False, 'benign_fp_bait'),
    'benign-smtp-stale-client': (0.5, False, 'benign_fp_bait'),
    'benign-smtp-no-auth-client': (1, False, 'benign_fp_bait'),
}
MYSQL_ATTACK = {
    'mysql-bf-fast': (3, True, 'above_threshold'),
    'mysql-bf-just-above': (3, True, 'above_threshold'),
    'mysql-bf-just-below': (3, False, 'below_threshold'),
    'mysql-bf-slow': (2, True, 'above_threshold'),
    'mysql-bf-very-slow': (2, False, 'below_threshold'),
    'mysql-scanner': (4, False, 'below_threshold'),
    'mysql-bf-internal': (0.3, True, 'whitelisted_private'),
}
MYSQL_BENIGN = {
    'benign-mysql-typo': (10, False, 'benign'),
    'benign-mysql-typo-twice': (1, False, 'benign_fp_bait'),
}
WINDOWS_ATTACK = {
    'rdp-bf-fast': (3, True, 'above_threshold'),
    'rdp-bf-just-above': (3, True, 'above_threshold'),
    'rdp-bf-just-below': (3, False, 'below_threshold'),
    'rdp-bf-slow': (2, True, 'above_threshold'),
    'rdp-bf-very-slow': (2, False, 'below_threshold'),
    'smb-bf': (2, True, 'above_threshold'),
    'rdp-spray-distributed': (2, False, 'below_threshold'),
    'rdp-bf-internal': (0.3, True, 'whitelisted_private'),
}
WINDOWS_BENIGN = {
    'benign-rdp-user': (20, False, 'benign'),
    'benign-rdp-forgetful': (1, False, 'benign_fp_bait'),
    'benign-smb-user': (8, False, 'benign'),
}

TABLES = {
    'postfix': (POSTFIX_ATTACK, POSTFIX_BENIGN),
    'mysql': (MYSQL_ATTACK, MYSQL_BENIGN),
    'windows': (WINDOWS_ATTACK, WINDOWS_BENIGN),
}
# share of the lines written by attackers, by benign actors; noise fills the rest
SHARES = {'postfix': (0.35, 0.5), 'mysql': (0.55, 0.04), 'windows': (0.4, 0.35)}
FRESH_IP_KINDS = ('benign-smtp-forgetful', 'benign-smtp-stale-client', 'benign-smtp-no-auth-client',
                  'benign-mysql-typo', 'benign-mysql-typo-twice', 'benign-rdp-forgetful')
INTERNAL_KINDS = ('smtp-sasl-bf-internal', 'mysql-bf-internal', 'rdp-bf-internal')
LONG_KINDS = {'smtp-sasl-bf-very-slow': 14400.0, 'mysql-bf-very-slow': 14400.0, 'rdp-bf-very-slow': 14400.0,
              'smtp-sasl-bf-slow': 3600.0, 'mysql-bf-slow': 3600.0, 'rdp-bf-slow': 3600.0,
              'smtp-sasl-bf-just-below': 6000.0, 'mysql-bf-just-below': 6000.0, 'rdp-bf-just-below': 6000.0,
              'benign-smtp-stale-client': 10800.0, 'benign-mysql-typo-twice': 2700.0, 'benign-smb-user': 3600.0,
              'benign-smtp-sender': 1200.0}

# --------------------------------------------------------------------------- IPs

_EXCLUDED_FIRST_OCTET = {0, 10, 100, 127, 169, 172, 192, 198, 203}


class IPAlloc:
    def __init__(self, rng):
        self.rng = rng
        self.used = set()  # membership only, never iterated

    def _take(self, ip):
        if ip in self.used:
            return None
        self.used.add(ip)
        return ip

    def v4(self):
        r = self.rng
        while True:
            a = r.randint(1, 223)
            if a in _EXCLUDED_FIRST_OCTET:
                continue
            ip = self._take('%d.%d.%d.%d' % (a, r.randint(0, 255), r.randint(0, 255), r.randint(1, 254)))
            if ip:
                return ip

    def v6(self):
        r = self.rng
        while True:
            ip = self._take('2a0%x:%x:%x:%x::%x' % (r.randint(1, 15), r.randint(0x100, 0xffff), r.randint(1, 0xffff),
                                                  r.randint(1, 0xffff), r.randint(1, 0xffff)))
            if ip:
                return ip

    def private(self):
        r = self.rng
        while True:
            if r.random() < 0.5:
                ip = '10.%d.%d.%d' % (r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))
            else:
                ip = '192.168.%d.%d' % (r.randint(0, 255), r.randint(1, 254))
            ip = self._take(ip)
            if ip:
                return ip

    def public(self, v6_share=0.05):
        return self.v6() if self.rng.random() < v6_share else self.v4()


class Actor:
    __slots__ = ('idx', 'ip', 'kind', 'seed', 'start', 'params', 'events', 'info')

    def __init__(self, idx, ip, kind, seed, start, params=None):
        self.idx = idx
        self.ip = ip
        self.kind = kind
        self.seed = seed
        self.start = start
        self.params = params or {}
        self.events = []  # (t, payload)
        self.info = []    # (t, 'fail' | 'reject')


# ------------------------------------------------------------------ shared shapes

def bf_times(r, kind, t):
    """Failure times of the brute-force kinds common to every service, or None."""
    k = kind.split('-', 1)[1] if kind.count('-') else kind
    if k.endswith('bf-just-above'):
        n = r.randint(5, 6)
        span = r.uniform(12.0, 25.0)
        return [t + i * span / (n - 1) for i in range(n)]
    if k.endswith('bf-just-below'):
        out = []
        for b in range(1 if r.random() < 0.5 else 2):
            n = r.randint(3, 4)
            span = r.uniform(40.0, 90.0)
            out.extend(t + i * span / (n - 1) for i in range(n))
            t += span + r.uniform(3000.0, 5400.0)
        return out
    if k.endswith('bf-slow') and not k.endswith('very-slow'):
        out, end = [], t + r.uniform(1200.0, 3600.0)
        while t < end:
            out.append(t)
            t += r.uniform(60.0, 110.0)
        return out
    if k.endswith('bf-very-slow'):
        out, end = [], t + r.uniform(5400.0, 14400.0)
        while t < end:
            out.append(t)
            t += r.uniform(300.0, 900.0)
        return out
    return None


# --------------------------------------------------------------------- postfix

MX = 'mx1'
DOMAIN = 'example.com'
LOCAL_USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'info', 'sales',
               'support', 'billing', 'hr']
SASL_GUESSES = ['info', 'admin', 'test', 'sales', 'contact', 'webmaster', 'support', 'office', 'mail', 'postmaster',
                'user', 'alice', 'bob', 'marketing', 'noreply', 'root', 'scanner', 'backup', 'hello', 'jobs']
SENDER_DOMAINS = ['example.org', 'example.net', 'mailer.example.io', 'newsletter.example.biz', 'shop.example.eu']
SPAM_HELOS = ['WIN-7Q2B3K9', 'User', 'localhost', 'ylmf-pc', '[%s]', 'mail', 'DESKTOP-4HT2K']
PLAIN_RE = ['UGFzc3dvcmQ6', 'authentication failure', '']
B32 = 'BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789'


class PostfixGen:
    def __init__(self, rng, actor):
        self.r = rng
        self.a = actor
        self.ip = actor.ip
        self.host = actor.params.get('host', 'unknown')

    def emit(self, t, prog, pid, msg):
        self.a.events.append((t, (prog, pid, msg)))

    def qid(self):
        return '4' + ''.join(self.r.choice(B32) for _ in range(12))

    def client(self):
        return '%s[%s]' % (self.host, self.ip)

    def sasl_conn(self, t, k, user=None, prog='postfix/smtpd', cut=True):
        """One connection with k failed AUTH attempts. Returns its end time."""
        r = self.r
        pid = r.randint(2000, 65000)
        self.emit(t, prog, pid, 'connect from %s' % self.client())
        t += r.uniform(0.1, 0.8)
        for i in range(k):
            reason = r.choice(PLAIN_RE)
            if user:
                reason = '(reason unavailable), sasl_username=%s' % user
            mech = r.choice(['LOGIN', 'LOGIN', 'PLAIN'])
            self.emit(t, prog, pid, 'warning: %s: SASL %s authentication failed: %s' % (self.client(), mech, reason))
            self.a.info.append((t, 'fail'))
            t += r.uniform(0.3, 2.0)
        if cut:
            self.emit(t, prog, pid, 'lost connection after AUTH from %s' % self.client())
        self.emit(t, prog, pid, 'disconnect from %s ehlo=1 auth=0/%d commands=1/%d' % (self.client(), k, k + 1))
        return t

    def submit(self, t, user, typos, typo_gap=(3.0, 10.0)):
        """A mail client: typos (each a failed AUTH), then a successful login and one message."""
        r = self.r
        prog = 'postfix/submission/smtpd'
        for _ in range(typos):
            t = self.sasl_conn(t, 1, user, prog, cut=False) + r.uniform(*typo_gap)
        pid = r.randint(2000, 65000)
        q = self.qid()
        self.emit(t, prog, pid, 'connect from %s' % self.client())
        t += r.uniform(0.2, 1.0)
        self.emit(t, prog, pid, '%s: client=%s, sasl_method=PLAIN, sasl_username=%s' % (q, self.client(), user))
        t += r.uniform(0.1, 0.5)
        self.emit(t, 'postfix/cleanup', r.randint(2000, 65000), '%s: message-id=<%d@%s>' % (q, r.randint(10**8, 10**9), DOMAIN))
        self.emit(t, 'postfix/qmgr', 1990, '%s: from=<%s>, size=%d, nrcpt=1 (queue active)' % (q, user, r.randint(800, 90000)))
        self.emit(t, prog, pid, 'disconnect from %s ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6' % self.client())
        t += r.uniform(0.3, 2.0)
        self.emit(t, 'postfix/smtp', r.randint(2000, 65000), '%s: to=<friend@%s>, relay=mx.%s[198.51.100.25]:25, delay=%.1f, '
                  'status=sent (250 2.0.0 OK)' % (q, r.choice(SENDER_DOMAINS), r.choice(SENDER_DOMAINS), r.uniform(0.3, 2.0)))
        self.emit(t, 'postfix/qmgr', 1990, '%s: removed' % q)
        return t

    def reject(self, t, pid, reason, to, code='554 5.7.1', helo=None, frm=None, prog='postfix/smtpd'):
        helo = helo or self.a.params.get('helo', 'mail.example.org')
        frm = frm if frm is not None else self.a.params.get('from', 'news@example.org')
        self.emit(t, prog, pid, 'NOQUEUE: reject: RCPT from %s: %s %s; from=<%s> to=<%s> proto=ESMTP helo=<%s>'
                  % (self.client(), code, reason, frm, to, helo))

    def rcpt_burst(self, t, n, reason_fn, gap, per_conn, code='554 5.7.1', tag='reject'):
        r = self.r
        done = 0
        while done < n:
            pid = r.randint(2000, 65000)
            self.emit(t, 'postfix/smtpd', pid, 'connect from %s' % self.client())
            t += r.uniform(0.2, 1.0)
            k = min(per_conn(), n - done)
            for _ in range(k):
                to, reason = reason_fn()
                self.reject(t, pid, reason, to, code)
                if tag:
                    self.a.info.append((t, tag))
                t += r.uniform(*gap)
            done += k
            self.emit(t, 'postfix/smtpd', pid, 'disconnect from %s ehlo=1 mail=1 rcpt=0/%d quit=1 commands=3/%d'
                      % (self.client(), k, k + 3))
            t += r.uniform(*gap)
        return t

    def deliver(self, t, nrcpt, unknown=0):
        """A legitimate MTA delivering one message to local users."""
        r = self.r
        pid = r.randint(2000, 65000)
        q = self.qid()
        self.emit(t, 'postfix/smtpd', pid, 'connect from %s' % self.client())
        t += r.uniform(0.2, 1.0)
        for _ in range(unknown):
            u = r.choice(LOCAL_USERS)[:-1] + r.choice('xyz')
            self.reject(t, pid, '<%s@%s>: Recipient address rejected: User unknown in local recipient table'
                        % (u, DOMAIN), '%s@%s' % (u, DOMAIN), '550 5.1.1')
            self.a.info.append((t, 'reject'))
            t += r.uniform(0.1, 0.5)
        self.emit(t, 'postfix/smtpd', pid, '%s: client=%s' % (q, self.client()))
        self.emit(t, 'postfix/cleanup', r.randint(2000, 65000), '%s: message-id=<%d@%s>' % (q, r.randint(10**8, 10**9), self.a.params['domain']))
        self.emit(t, 'postfix/qmgr', 1990, '%s: from=<news@%s>, size=%d, nrcpt=%d (queue active)'
                  % (q, self.a.params['domain'], r.randint(2000, 200000), nrcpt))
        self.emit(t, 'postfix/smtpd', pid, 'disconnect from %s ehlo=1 mail=1 rcpt=%d/%d data=1 quit=1 commands=%d/%d'
                  % (self.client(), nrcpt, nrcpt + unknown, nrcpt + 4, nrcpt + unknown + 4))
        t += r.uniform(0.1, 0.8)
        for _ in range(nrcpt):
            self.emit(t, 'postfix/local', r.randint(2000, 65000), '%s: to=<%s@%s>, relay=local, delay=%.2f, status=sent '
                      '(delivered to mailbox)' % (q, r.choice(LOCAL_USERS), DOMAIN, r.uniform(0.1, 1.5)))
        self.emit(t, 'postfix/qmgr', 1990, '%s: removed' % q)
        return t


def postfix_events(actor):
    r = random.Random(actor.seed)
    g = PostfixGen(r, actor)
    k, t = actor.kind, actor.start
    times = bf_times(r, k, t)
    if times is not None:
        for tt in times:
            g.sasl_conn(tt, 1)
    elif k in ('smtp-sasl-bf-fast', 'smtp-sasl-bf-internal'):
        n = r.randint(20, 150)
        per = r.choice([1, 1, 2, 3])
        done = 0
        while done < n:
            kk = min(per, n - done)
            t = g.sasl_conn(t, kk, r.choice(SASL_GUESSES) + '@' + DOMAIN if r.random() < 0.3 else None)
            done += kk
            t += r.uniform(1.0, 6.0)
    elif k == 'smtp-sasl-distributed':
        for _ in range(r.randint(1, 2)):
            t = g.sasl_conn(t, 1) + r.uniform(600.0, 3000.0)
    elif k == 'smtp-relay-abuse':
        def relay():
            to = '%s%d@%s' % (r.choice(['victim', 'user', 'info', 'test']), r.randint(1, 9999),
                              r.choice(['gmail.com', 'yahoo.com', 'hotmail.com', 'mail.ru', 'qq.com']))
            return to, '<%s>: Relay access denied' % to
        g.rcpt_burst(t, r.randint(8, 40), relay, (1.0, 4.0), lambda: r.randint(2, 5))
    elif k in ('smtp-rbl-spammer', 'smtp-rbl-single'):
        bl = r.choice(['zen.spamhaus.org', 'bl.spamcop.net', 'b.barracudacentral.org'])

        def rbl():
            return ('%s@%s' % (r.choice(LOCAL_USERS), DOMAIN),
                    'Service unavailable; Client host [%s] blocked using %s' % (actor.ip, bl))
        n = r.randint(6, 20) if k == 'smtp-rbl-spammer' else r.randint(1, 3)
        g.rcpt_burst(t, n, rbl, (0.5, 3.0), lambda: r.randint(1, 8))
    elif k == 'smtp-bad-helo-bot':
        actor.params['helo'] = r.choice(['localhost', 'User', 'ylmf-pc', 'WIN-7Q2B3K9'])

        def helo():
            return ('%s@%s' % (r.choice(LOCAL_USERS), DOMAIN),
                    '<%s>: Helo command rejected: need fully-qualified hostname' % actor.params['helo'])
        g.rcpt_burst(t, r.randint(6, 20), helo, (1.0, 3.0), lambda: r.randint(1, 6), '504 5.5.2')
    elif k == 'smtp-protocol-bot':
        for _ in range(r.randint(6, 15)):
            port = r.randint(1024, 65535)
            x = r.random()
            if x < 0.5:
                g.emit(t, 'postfix/postscreen', 1900, 'PREGREET %d after %.2f from [%s]:%d: EHLO %s\\r\\n'
                       % (r.randint(11, 40), r.uniform(0.0, 1.5), actor.ip, port, r.choice(['ylmf-pc', 'User', 'localhost'])))
            elif x < 0.75:
                g.emit(t, 'postfix/postscreen', 1900, 'COMMAND PIPELINING from [%s]:%d after EHLO: MAIL FROM:<a@b.c>\\r\\n'
                       % (actor.ip, port))
            else:
                g.emit(t, 'postfix/postscreen', 1900, 'NON-SMTP COMMAND from [%s]:%d after CONNECT: GET / HTTP/1.1'
                       % (actor.ip, port))
            actor.info.append((t, 'reject'))
            g.emit(t + 0.1, 'postfix/postscreen', 1900, 'DISCONNECT [%s]:%d' % (actor.ip, port))
            t += r.uniform(2.0, 8.0)
    elif k == 'smtp-web-scanner':
        for _ in range(r.randint(1, 2)):
            pid = r.randint(2000, 65000)
            g.emit(t, 'postfix/smtpd', pid, 'connect from %s' % g.client())
            g.emit(t + 0.2, 'postfix/smtpd', pid, 'warning: non-SMTP command from %s: %s'
                   % (g.client(), r.choice(['GET / HTTP/1.1', 'GET /favicon.ico HTTP/1.1', 'HEAD / HTTP/1.0'])))
            actor.info.append((t + 0.2, 'reject'))
            g.emit(t + 0.2, 'postfix/smtpd', pid, 'disconnect from %s unknown=0/1 commands=0/1' % g.client())
            t += r.uniform(5.0, 120.0)
    elif k == 'benign-smtp-sender':
        greylist = r.random() < 0.1
        for m in range(r.randint(1, 5)):
            if greylist and m == 0:
                pid = r.randint(2000, 65000)
                to = '%s@%s' % (r.choice(LOCAL_USERS), DOMAIN)
                g.emit(t, 'postfix/smtpd', pid, 'connect from %s' % g.client())
                g.reject(t + 0.5, pid, '<%s>: Recipient address rejected: Greylisted, see '
                         'http://postgrey.schweikert.ch/help/%s.html' % (to, DOMAIN), to, '450 4.2.0')
                g.emit(t + 0.6, 'postfix/smtpd', pid, 'disconnect from %s ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4' % g.client())
                t += r.uniform(300.0, 900.0)
            unknown = 1 if r.random() < 0.05 else 0
            t = g.deliver(t, r.randint(1, 3), unknown) + r.uniform(20.0, 240.0)
    elif k == 'benign-smtp-user':
        x = r.random()
        typos = 0 if x < 0.85 else (1 if x < 0.97 else 2)
        g.submit(t, actor.params['user'], typos)
    elif k == 'benign-smtp-forgetful':
        g.submit(t, actor.params['user'], 3, typo_gap=(5.0, 20.0))
    elif k == 'benign-smtp-stale-client':
        end = t + r.uniform(3600.0, 10800.0)
        while t < end:
            g.sasl_conn(t, 1, actor.params['user'], 'postfix/submission/smtpd', cut=False)
            t += r.uniform(720.0, 1800.0)
    elif k == 'benign-smtp-no-auth-client':
        n = r.randint(1, 4)

        def relay():
            to = 'friend%d@%s' % (r.randint(1, 99), r.choice(['gmail.com', 'example.net']))
            return to, '<%s>: Relay access denied' % to
        actor.params['helo'] = 'laptop.home'
        actor.params['from'] = actor.params['user']
        t = g.rcpt_burst(t, n, relay, (0.1, 0.5), lambda: n)
        g.submit(t + r.uniform(60.0, 180.0), actor.params['user'], 0)
    else:
        raise ValueError(k)


def postfix_noise(r, t):
    x = r.random()
    pid = r.randint(2000, 65000)
    if x < 0.3:
        return [(t, ('postfix/smtpd', pid, 'connect from localhost[127.0.0.1]')),
                (t + 0.3, ('postfix/smtpd', pid, 'disconnect from localhost[127.0.0.1] ehlo=1 quit=1 commands=2'))]
    if x < 0.55:
        return [(t, ('postfix/anvil', 1991, 'statistics: max connection rate %d/60s for (smtp:%d.%d.%d.%d) at %s'
                     % (r.randint(1, 5), r.randint(1, 223), r.randint(0, 255), r.randint(0, 255), r.randint(1, 254), 'Jun 10 06:00:00')))]
    if x < 0.8:
        q = '4' + ''.join(r.choice(B32) for _ in range(12))
        return [(t, ('postfix/pickup', 1992, '%s: uid=33 from=<www-data>' % q)),
                (t + 0.2, ('postfix/qmgr', 1990, '%s: removed' % q))]
    return [(t, ('postfix/scache', 1993, 'statistics: start interval Jun 10 06:00:00')),
            (t, ('postfix/scache', 1993, 'statistics: domain lookup hits=0 miss=1 success=0%'))]


# ----------------------------------------------------------------------- mysql

MYSQL_GUESSES = ['root', 'root', 'root', 'admin', 'mysql', 'test', 'user', 'wordpress', 'wp', 'db', 'dbadmin',
                 'backup', 'web', 'sa', 'app', 'magento', 'joomla', 'drupal', 'oracle', 'guest']
DBA_USERS = ['dba', 'report', 'alice', 'bob', 'etl', 'grafana']


def mysql_events(actor):
    r = random.Random(actor.seed)
    k, t = actor.kind, actor.start

    def deny(tt, user, pw='YES'):
        actor.events.append((tt, ('Warning', "Access denied for user '%s'@'%s' (using password: %s)" % (user, actor.ip, pw))))
        actor.info.append((tt, 'fail'))

    times = bf_times(r, k, t)
    if times is not None:
        for tt in times:
            deny(tt, r.choice(MYSQL_GUESSES))
    elif k in ('mysql-bf-fast', 'mysql-bf-internal'):
        user = r.choice(MYSQL_GUESSES) if r.random() < 0.5 else None
        for _ in range(r.randint(20, 300)):
            deny(t, user or r.choice(MYSQL_GUESSES))
            t += r.uniform(0.5, 4.0)
    elif k == 'mysql-scanner':
        for _ in range(r.randint(1, 2)):
            deny(t, r.choice(['root', 'admin', '']), 'NO')
            t += r.uniform(1.0, 60.0)
    elif k == 'benign-mysql-typo':
        user = actor.params['user']
        for _ in range(r.randint(1, 3)):
            deny(t, user)
            t += r.uniform(4.0, 20.0)
    elif k == 'benign-mysql-typo-twice':
        user = actor.params['user']
        for b in range(2):
            for _ in range(2):
                deny(t, user)
                t += r.uniform(4.0, 20.0)
            t += r.uniform(1500.0, 2400.0)
    else:
        raise ValueError(k)


def mysql_noise(r, t):
    x = r.random()
    if x < 0.5:
        return [(t, ('Warning', "Aborted connection %d to db: 'app' user: 'app' host: '10.0.%d.%d' (Got an error reading "
                                "communication packets)" % (r.randint(1000, 99999), r.randint(0, 9), r.randint(2, 250))))]
    if x < 0.8:
        return [(t, ('Note', 'InnoDB: page_cleaner: 1000ms intended loop took %dms. The settings might not be optimal.'
                             % r.randint(1100, 9000)))]
    return [(t, ('Warning', "IP address '10.0.%d.%d' could not be resolved: Name or service not known"
                            % (r.randint(0, 9), r.randint(2, 250))))]


# --------------------------------------------------------------------- windows

WIN_GUESSES = ['administrator', 'Administrator', 'admin', 'user', 'test', 'guest', 'scanner', 'backup', 'support',
               'sql', 'server', 'office', 'reception', 'accounting', 'USER1', 'demo', 'rdp', 'remote']
WIN_USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'svc-backup', 'frank', 'grace']
ATTACK_WORKSTATIONS = ['KALI', 'WIN-R8J2K5', 'DESKTOP-N1B4P', '-', '-', 'WORKSTATION', 'FREERDP']


def windows_events(actor):
    r = random.Random(actor.seed)
    k, t = actor.kind, actor.start
    ws_attack = r.choice(ATTACK_WORKSTATIONS)

    def ev(tt, eid, user, lt, ws, status=None, domain=''):
        actor.events.append((tt, (eid, user, lt, ws, status, domain, actor.ip)))

    def fail(tt, user, lt=None, ws=None, sub='0xc000006a'):
        ev(tt, 4625, user, lt or r.choice(['3', '3', '10']), ws if ws is not None else ws_attack, sub)
        actor.info.append((tt, 'fail'))

    def guess():
        u = r.choice(WIN_GUESSES)
        return u, ('0xc000006a' if u.lower() in ('administrator', 'admin', 'guest') else '0xc0000064')

    times = bf_times(r, k, t)
    if times is not None:
        for tt in times:
            u, sub = guess()
            fail(tt, u, sub=sub)
    elif k in ('rdp-bf-fast', 'rdp-bf-internal'):
        lt = r.choice(['3', '10'])
        for _ in range(r.randint(30, 300)):
            u, sub = guess()
            fail(t, u, lt, sub=sub)
            t += r.uniform(0.5, 3.0)
    elif k == 'smb-bf':
        ev(t, 4624, 'ANONYMOUS LOGON', '3', '-', domain='NT AUTHORITY')
        t += r.uniform(0.5, 2.0)
        for _ in range(r.randint(10, 80)):
            u, sub = guess()
            fail(t, u, '3', sub=sub)
            t += r.uniform(0.5, 4.0)
    elif k == 'rdp-spray-distributed':
        for _ in range(r.randint(1, 2)):
            u, sub = guess()
            fail(t, u, sub=sub)
            t += r.uniform(600.0, 3000.0)
    elif k in ('benign-rdp-user', 'benign-rdp-forgetful'):
        user, ws = actor.params['user'], actor.params['ws']
        if k == 'benign-rdp-forgetful':
            typos, gap = 3, (5.0, 20.0)
        else:
            x = r.random()
            typos, gap = (0 if x < 0.85 else (1 if x < 0.97 else 2)), (4.0, 12.0)
        for _ in range(typos):
            fail(t, user, '3', ws)
            t += r.uniform(*gap)
        ev(t, 4624, user, '3', ws, domain='CORP')
        t += r.uniform(1.0, 3.0)
        ev(t, 4624, user, '10', ws, domain='CORP')
        ev(t + 0.1, 4672, user, '10', ws, domain='CORP')
        t += r.uniform(300.0, 5400.0)
        ev(t, 4634, user, '10', ws, domain='CORP')
    elif k == 'benign-smb-user':
        user, ws = actor.params['user'], actor.params['ws']
        for _ in range(r.randint(2, 10)):
            ev(t, 4624, user, '3', ws, domain='CORP')
            ev(t + r.uniform(5.0, 60.0), 4634, user, '3', ws, domain='CORP')
            t += r.uniform(60.0, 600.0)
    else:
        raise ValueError(k)


def windows_noise(r, t):
    x = r.random()
    if x < 0.4:
        return [(t, (4624, 'SYSTEM', '5', '-', None, 'NT AUTHORITY', '-'))]
    if x < 0.7:
        return [(t, (4672, 'SYSTEM', '5', '-', None, 'NT AUTHORITY', '-'))]
    if x < 0.9:
        return [(t, (4688, 'svc-monitor', '-', '-', None, 'CORP', '-'))]
    return [(t, (4634, 'svc-backup', '3', '-', None, 'CORP', '-'))]


WIN_ACTIONS = {4624: 'logged-in', 4625: 'logon-failed', 4634: 'logged-out', 4672: 'logged-in-special', 4688: 'created-process'}


def winlogbeat_line(ts_iso, ts_epoch, seq, ev):
    eid, user, lt, ws, status, domain, ip = ev
    data = {'SubjectUserSid': 'S-1-0-0', 'TargetUserName': user, 'TargetDomainName': domain}
    if eid in (4624, 4625):
        data.update({'LogonType': lt, 'LogonProcessName': 'NtLmSsp ' if lt == '3' else 'User32 ',
                     'AuthenticationPackageName': 'NTLM' if lt == '3' else 'Negotiate', 'WorkstationName': ws,
                     'IpAddress': ip, 'IpPort': '0' if ip == '-' or lt == '3' else str(49152 + seq % 16000)})
        if eid == 4625:
            data.update({'Status': '0xc000006d', 'FailureReason': '%%2313', 'SubStatus': status})
    elif eid == 4634:
        data['LogonType'] = lt
    doc = {'@timestamp': ts_iso,
           'event': {'code': str(eid), 'kind': 'event', 'provider': 'Microsoft-Windows-Security-Auditing',
                     'action': WIN_ACTIONS[eid], 'outcome': 'failure' if eid == 4625 else 'success'},
           'winlog': {'channel': 'Security', 'event_id': str(eid), 'provider_name': 'Microsoft-Windows-Security-Auditing',
                      'computer_name': 'WIN-SRV01.corp.example.com', 'record_id': str(3000000 + seq),
                      'event_data': data},
           'host': {'name': 'WIN-SRV01'}, 'agent': {'type': 'winlogbeat', 'version': '8.14.1'}}
    if ip not in ('-', ''):
        doc['source'] = {'ip': ip}
    return json.dumps(doc, separators=(',', ':'))


def nxlog_line(ts_local, seq, ev):
    eid, user, lt, ws, status, domain, ip = ev
    doc = {'EventTime': ts_local, 'Hostname': 'WIN-SRV01.corp.example.com',
           'EventType': 'AUDIT_FAILURE' if eid == 4625 else 'AUDIT_SUCCESS', 'EventID': eid,
           'SourceName': 'Microsoft-Windows-Security-Auditing', 'Channel': 'Security', 'RecordNumber': 3000000 + seq,
           'TargetUserName': user, 'TargetDomainName': domain}
    if eid in (4624, 4625):
        doc.update({'LogonType': lt, 'WorkstationName': ws, 'IpAddress': ip, 'IpPort': '0'})
        if eid == 4625:
            doc.update({'Status': '0xc000006d', 'SubStatus': status})
    doc.update({'SourceModuleName': 'eventlog', 'SourceModuleType': 'im_msvistalog'})
    return json.dumps(doc, separators=(',', ':'))


# ------------------------------------------------------------------ formatting

class Fmt:
    def __init__(self, args):
        self.t0 = datetime.datetime.strptime(args.start, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
        self.log = args.log
        self.flavor = args.flavor
        self.shipper = args.shipper
        self.seq = 0

    def dt(self, t):
        return self.t0 + datetime.timedelta(microseconds=int(t * 1e6))

    def iso(self, t):
        return self.dt(t).strftime('%Y-%m-%dT%H:%M:%SZ')

    def line(self, t, payload):
        d = self.dt(t)
        self.seq += 1
        if self.log == 'postfix':
            prog, pid, msg = payload
            return '%s %2d %02d:%02d:%02d %s %s[%d]: %s' % (MONTHS[d.month - 1], d.day, d.hour, d.minute, d.second,
                                                         MX, prog, pid, msg)
        if self.log == 'mysql':
            level, msg = payload
            thread = 8 + self.seq % 5000
            if self.flavor == 'mysql8':
                code = 'MY-010926' if msg.startswith('Access denied') else 'MY-010914'
                return '%s %d [%s] [%s] [Server] %s' % (d.strftime('%Y-%m-%dT%H:%M:%S.%fZ'), thread,
                                                        'Note' if msg.startswith('Access') else level, code, msg)
            return '%04d-%02d-%02d %2d:%02d:%02d %d [%s] %s' % (d.year, d.month, d.day, d.hour, d.minute, d.second,
                                                               thread, level, msg)
        if self.shipper == 'nxlog':
            return nxlog_line(d.strftime('%Y-%m-%d %H:%M:%S'), self.seq, payload)
        return winlogbeat_line(d.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (d.microsecond // 1000), t, self.seq, payload)


# ------------------------------------------------------------------ planning

EVENTS = {'postfix': postfix_events, 'mysql': mysql_events, 'windows': windows_events}
NOISE = {'postfix': postfix_noise, 'mysql': mysql_noise, 'windows': windows_noise}


def weighted(rng, table):
    kinds = list(table.keys())
    weights = [table[k][0] for k in kinds]
    return lambda: rng.choices(kinds, weights)[0]


def max_in_window(times, w):
    best, j = 0, 0
    for i in range(len(times)):
        while times[i] - times[j] > w:
            j += 1
        best = max(best, i - j + 1)
    return best


def plan(args):
    rng = random.Random(args.seed)
    ips = IPAlloc(random.Random(args.seed * 7919 + 23))
    duration = args.hours * 3600.0
    N = args.lines
    attack, benign = TABLES[args.log]
    ev = EVENTS[args.log]
    actors = []

    def start_for(kind):
        span = min(LONG_KINDS.get(kind, 600.0), duration * 0.9)
        return rng.uniform(0.0, max(1.0, duration - span))

    def make(kind, ip, params=None):
        a = Actor(len(actors), ip, kind, rng.getrandbits(63), start_for(kind), params)
        ev(a)
        return a

    # benign address pools: mail providers and offices (reused, Zipf-ish), sized with the log
    n_pool = max(20, N // 150)
    pool = [ips.public() for _ in range(n_pool)]
    user_of = {ip: rng.choice(LOCAL_USERS if args.log == 'postfix' else WIN_USERS) for ip in pool}
    ws_of = {ip: 'PC-%04d' % rng.randint(1, 9999) for ip in pool}
    host_of = {ip: 'mail%d.%s' % (rng.randint(1, 40), rng.choice(SENDER_DOMAINS)) for ip in pool}

    def pick_pool():
        return pool[min(int(len(pool) * (rng.random() ** 2.5)), len(pool) - 1)]

    attack_budget = int(N * args.attack_share)
    benign_budget = int(N * args.benign_share)
    used = 0
    # 1) attackers: one of each kind first, then weighted until the budget is used
    pick = weighted(rng, attack)
    order = list(attack.keys())
    while True:
        forced = bool(order)
        kind = order.pop(0) if forced else pick()
        ip = ips.private() if kind in INTERNAL_KINDS else ips.public()
        a = make(kind, ip, {'helo': rng.choice(SPAM_HELOS).replace('%s', ip), 'from': 'x%d@%s' % (rng.randint(1, 999), rng.choice(SENDER_DOMAINS))})
        n = len(a.events)
        if used + n > N:
            if forced:
                continue
            break
        if not forced and used + n > attack_budget:
            break
        actors.append(a)
        used += n
    # 2) benign actors until their budget is used
    pick = weighted(rng, benign)
    budget_end = min(N, used + benign_budget)
    misses = 0
    while used < budget_end and misses < 50:
        kind = pick()
        if kind in FRESH_IP_KINDS:
            ip = ips.public()
            params = {'user': rng.choice(DBA_USERS if args.log == 'mysql' else LOCAL_USERS), 'ws': 'PC-%04d' % rng.randint(1, 9999)}
        else:
            ip = pick_pool()
            params = {'user': user_of[ip], 'ws': ws_of[ip]}
        if args.log == 'postfix':
            params['user'] = params['user'] + '@' + DOMAIN
            if kind == 'benign-smtp-sender':
                params['host'] = host_of[ip]
                params['domain'] = host_of[ip].split('.', 1)[1]
        a = make(kind, ip, params)
        if used + len(a.events) > budget_end:
            misses += 1
            continue
        actors.append(a)
        used += len(a.events)
    return actors, N - used, rng, duration


def build_truth(args, actors, fmt):
    attack, benign = TABLES[args.log]
    per_ip = {}
    order = []
    for a in actors:
        w, expect, cat = (attack.get(a.kind) or benign.get(a.kind))
        e = per_ip.get(a.ip)
        if e is None:
            e = per_ip[a.ip] = {'ip': a.ip, 'malicious': a.kind in attack, 'kinds': [], 'category': cat,
                                'expect_detect': expect, 'lines': 0, '_fails': [], '_rejects': [], '_t': []}
            order.append(a.ip)
        if a.kind not in e['kinds']:
            e['kinds'].append(a.kind)
        if cat == 'benign_fp_bait':
            e['category'] = cat
        e['lines'] += len(a.events)
        e['_t'].extend(t for t, _ in a.events)
        e['_fails'].extend(t for t, tag in a.info if tag == 'fail')
        e['_rejects'].extend(t for t, tag in a.info if tag == 'reject')
    out = []
    for ip in order:
        e = per_ip[ip]
        ts = e.pop('_t')
        e['first_seen'] = fmt.iso(min(ts)) if ts else None
        e['last_seen'] = fmt.iso(max(ts)) if ts else None
        fails = sorted(e.pop('_fails'))
        rejects = sorted(e.pop('_rejects'))
        e['failed_logins'] = len(fails)
        e['max_failed_in_60s'] = max_in_window(fails, 60.0)
        e['max_failed_in_10min'] = max_in_window(fails, 600.0)
        if args.log == 'postfix':
            e['refused'] = len(rejects)
            e['max_refused_in_60s'] = max_in_window(rejects, 60.0)
        out.append(e)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('log', choices=['postfix', 'mysql', 'windows'])
    ap.add_argument('--lines', type=int, default=10000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--out', required=True)
    ap.add_argument('--truth', help='ground-truth JSON path (default: OUT with .truth.json)')
    ap.add_argument('--start', default='2024-06-10T06:00:00Z', help='UTC start time')
    ap.add_argument('--hours', type=float, default=4.0)
    ap.add_argument('--attack-share', type=float, default=None, help='fraction of lines written by attackers')
    ap.add_argument('--benign-share', type=float, default=None, help='fraction of lines written by benign actors')
    ap.add_argument('--flavor', choices=['auto', 'mysql8', 'mariadb'], default='auto',
                    help='mysql error log format (auto: mysql8 for odd seeds, mariadb for even ones)')
    ap.add_argument('--shipper', choices=['winlogbeat', 'nxlog'], default='winlogbeat', help='windows JSON shape')
    args = ap.parse_args()
    a_share, b_share = SHARES[args.log]
    if args.attack_share is None:
        args.attack_share = a_share
    if args.benign_share is None:
        args.benign_share = b_share
    if args.flavor == 'auto':
        args.flavor = 'mysql8' if args.seed % 2 else 'mariadb'
    fmt = Fmt(args)

    actors, filler, rng, duration = plan(args)
    events = []
    for a in actors:
        for i, (t, p) in enumerate(a.events):
            events.append((t, a.idx, i, p))
    noise = NOISE[args.log]
    n_fill = 0
    while n_fill < filler:
        t = rng.uniform(0.0, duration)
        for j, (tt, p) in enumerate(noise(rng, t)[:filler - n_fill]):
            events.append((tt, -1, n_fill, p))
            n_fill += 1
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    with open(args.out, 'w', buffering=1 << 20) as f:
        for t, _, _, p in events:
            f.write(fmt.line(t, p) + '\n')
    assert len(events) == args.lines, (len(events), args.lines)

    attack, benign = TABLES[args.log]
    truth = build_truth(args, actors, fmt)
    truth.sort(key=lambda e: (not e['malicious'], e['kinds'][0], e['ip']))
    mal = [e for e in truth if e['malicious']]
    summary = {}
    for e in truth:
        for kd in e['kinds']:
            summary[kd] = summary.get(kd, 0) + 1
    doc = {
        'generator': 'gen_more_logs.py',
        'log': args.log,
        'replay_type': {'postfix': 'syslog', 'mysql': 'mysql', 'windows': 'windows'}[args.log],
        'format': args.flavor if args.log == 'mysql' else (args.shipper if args.log == 'windows' else 'syslog'),
        'lines': args.lines,
        'seed': args.seed,
        'start': fmt.iso(0),
        'hours': args.hours,
        'attack_share': args.attack_share,
        'benign_share': args.benign_share,
        'thresholds': THRESHOLDS,
        'kind_doc': {k: v for k, v in KIND_DOC.items() if k in attack or k in benign},
        'kinds': {k: {'malicious': k in attack, 'expect_detect': (attack.get(k) or benign.get(k))[1],
                      'category': (attack.get(k) or benign.get(k))[2], 'ips': summary.get(k, 0)}
                  for k in list(attack) + list(benign)},
        'counts': {'ips': len(truth), 'malicious_ips': len(mal),
                   'malicious_expect_detect': sum(1 for e in mal if e['expect_detect']),
                   'benign_ips': len(truth) - len(mal), 'filler_lines': filler},
        'ips': truth,
    }
    truth_path = args.truth or (args.out.rsplit('.log', 1)[0] + '.truth.json')
    with open(truth_path, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    print('%s: %d lines, %d IPs (%d malicious, %d expected detectable), filler %d -> %s'
          % (args.out, args.lines, len(truth), len(mal), doc['counts']['malicious_expect_detect'], filler, truth_path),
          file=sys.stderr)


if __name__ == '__main__':
    main()
