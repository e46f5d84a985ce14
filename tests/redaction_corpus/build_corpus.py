"""Build ``generated.jsonl``, the generated part of the secret-redaction evaluation corpus.

The corpus (every ``*.jsonl`` file in this folder) is described in ``SOURCES.md``.  This script writes
``generated.jsonl`` from three things, all defined below:

* test strings copied from other secret scanners' test suites (Yelp/detect-secrets, GitGuardian/ggshield,
  sirwart/ripsecrets), each placed in a realistic context written for this corpus (``source`` names the
  upstream file the string comes from);
* synthetic secrets in the real formats (prefix, length, alphabet, checksum where the format has one), with a
  random body drawn from a seeded ``random.Random`` so that the output is reproducible (``source: synthetic``);
* benign look-alikes that must not be redacted (hashes, ids, lock-file integrity strings, placeholders, ...).

The verbatim upstream examples (``noseyparker.jsonl``, ``whispers.jsonl``) are curated data, not generated.

Usage::

    python tests/redaction_corpus/build_corpus.py          # rewrite generated.jsonl
    python tests/redaction_corpus/build_corpus.py --check  # exit 1 if generated.jsonl is stale
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import random
import string
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "generated.jsonl"
SEED = 20250611

DS = "Yelp/detect-secrets@5e141933554a0b74e7341841f318be21e895339c:"
GG = "GitGuardian/ggshield@eaa3e43b1ae1e67e3f184edd9a04a8d60849d75f:"
RS = "sirwart/ripsecrets@416e9d04d6ba8941fc3106bf986b6c8aa875767e:"
SYN = "synthetic"

# Verbatim upstream test strings (see SOURCES.md); long values are kept out of the templates below.
RS_PEM_PKCS8_FILE = "-----BEGIN PRIVATE KEY-----\nMIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCqX55zGZ6XyhtV\nWN0uPG8/JsUZq5xjv1e2OXPLjmePoJS6veOxlXZWOLBA59v59F6LKR9cjOvVzJxR\n9crwWZaGq79B842yfbd2dom641W/vAPhobPj0DWPgQCDGuc/vDT2i2wfkvigHl+u\nsEKd8LxUOEvbowKMNigqLDa42h7ivQOJfYfqN5gf1Iwio2DkVPYeY5mzBqiK5C5W\nzfzjdv4PhH6hAwn5L40xZAr93DKxz2GrjyF7rK23CR6AjCzB10hvs/VBG1Tth9rM\nTK/oZaeu91peXXaSJfNsQBwy+Rt248RdDPSPw0fEzrMxmd3qr4Wf9+qnu6Twl2sX\nGjqGTW9BAgMBAAECggEAHlSFbbIq5JTLRudaAMgrec+aGRbO8Yb3w2346k0ArLYG\npDP32/5iobjXz8Y3CAlz50w71AsWVOpnDcQ3C5C3VmQu2TvVhugQiBtUK5wbANYk\nzr8tuimvz0tE3xIkBtmniBiL+Bb/AepGWF/yjBF2RXv8LS6Y3oMppVBXsZLLGswG\n4kq5Mv9T8PPpn0IgQeVYPbIJP5youaAPgLJYO7RBostGrmPUu/f7UT3bZpsIoJ74\nELeGl1DlFXosmJngTVSeF8soRM0D62DXem4TeVx0gO7zgkzMYRfgGcCDkU4pZRtY\nk6b5BphOd1Kuovk+oUfHx6fjKEfKPIWkk0wGTE50jQKBgQDc7UdINMezWJqyQiW9\nrV/75MOBvyJBaWxsn5/mElzyj/5tR+ZEvMNIP9AJfLnutREuHDzLzeNBoSuBs2Po\nQgTS8mzrZ9GyNPrZIMfpmO16/BrxcUBeQp+mbirV3CTfUqqemGjpdHxaNMffGtRN\nUEXijCcDizCHvrgYL0Tg+FrFJwKBgQDFa8tFC/zUeA/GdEyV2fPa+n3SLyNkQAQe\nS46G2k6F9OUF96fcCdSTjspXuiySxHhSgVp37yRdLbB0K1hNHjmOYoCirWWePG3J\nL0qhPYtPqoNQkJk1Dq4DDizbC67O3QEizlPDil0AIkS02cwArC1FypojmkBpTjlw\nPmHgcrN5VwKBgBeZvWioQsEU8Qmj6VY25C8LhBsjKOyl73A3KSSxx34eBcb0zFOB\nercIIhgxW8d1Tk2HtLLs3p8PMY+cc0rHaq6COUJ4h70qzbVOPCznKk9eCR7Lw12O\nbnGgCTFpYAL/WLyyeVqfF/2m78cUnaNYtO57nFtTji6iIBZtTkVeIow3AoGATzvv\nLjwcci3pru24WyBJpeaJHxV6L98diActIeR2RX8/eACop0Bux/Y0Mbdv8kvWOs7d\nv2sEfj07J7TJ0NHDqejQ1fmf4j1AltFbM5Ge2w+Feo0+YDQPFPzYdeWfeDjtHsoO\nhll+7/HQ/4C2RsLTvMIO0SE0ns8dcHYpFEsUyysCgYBXsNocwGOodeHrHUADxGUS\n0KWNPdhrfvdHYPlnnY697we6WBOF2Z2J6qUZd10Tex42Y+LyHBkXH9t1Z8UkXvWD\n4hPsCLjSzyNITdJun9mBnDv0ZXTLDdG0xNg7lRBY+HUOQP5qk5Ar71X4GGQruqJr\nL5iWcrT5skktYPvH96UlJw==\n-----END PRIVATE KEY-----\n"
RS_RSA_PY_FILE = 'RS256_KEY = """\n-----BEGIN RSA PRIVATE KEY-----\nMIIJKAIBAAKCAgEAwcYWTDju/+S7dgFLMp6VQHbCMHTQD7RxoaTWKY8/NizzW7QX\n82QZWGyc2+1EpYgza82Joy3IQ78FRV5NHjZONgeot+ZsnznFRokXvzdrshFCv4i+\n4Jeo9RJW/32T53dM3f7kYJ+n6cDouExHIg03TpQKiB/SiAR8f6K+qa9xOCbFRv5M\ncKvLWxHsSMOx034MQKseSokX+BtPrBrCNzPeor92jljKlamIBvgtJQj/Vi4WvaFl\noXAZ+4BOZwe51ojujYWuLUHxo4khe5Yd/auV5tKtOIBPFQRgcOOFfVc9J2BiwAk1\nKkraO4zd+s7GYvQeTd2pVLXUIQO9lLzoCtI/f4e0NAUKNo1CY6UePsxs3Q+Rdvxm\nO09mvq7E8BzqM5rKmpGc7xxuk9R1lZ6aHGe3PIVKfYgPUBn8IIspoZjLhxxhk9BC\nmwKDRofHqtmVBOk7wWgwebDqEed99pPO63vsctlci1MwUo5OvUDQtd3ULCZr+5TK\nGPtM33rmDIrGgCOJvhp2jM54KvZpt9IyC2jvwrrcnJV7/9Sipy1Ns+jKvGntcPJb\nUThjMQGqREFi8G4L8sYMYC5vJz4R1vHcysY3k0hLqyfokkW5eNveba31yzprhUFl\nikfxHWIZipMb2CFxYN1bukMWnkRJU4ZhUoRWNYg4Kl5rg3/rE+CVfboSGvcCAwEA\nAQKCAgAeFmPf8fcqRJnW+Nx0P6ttFwOQApNL3PjH4JBgY52tC829r3kIkcJduH+i\npnTCPyO82W1FqRYvbrmiy8Gtr0D1orrP0zeKga3gBelqB3DxdTyoANOii+nwI6je\nguE0T5Hf5nQPjLrF0O5Rr4ZcAzFTQilgeZB3DjtGlj6Emnk5/ssi+tljpUkuGtpV\ncg1qiWfdorRRXngaTiNQ1dbSO3uWSaRe9ep+0pQMgPyBg6Qh/YYKa8UcDAv8wS9r\nUAfLB/gCgX9KB7M9cU2Bow2FFd9wt8WtwD6HROa0oJ9ZlvIn6w9qQgO/TWAVXwoY\np4KmWsFZ1dE1FgaaGbqWHb7p7ztsjLRiwiKyrkWU62LcTAoiRMaUhVUfAfJpnwPS\nPuw73v04y7hVbzDlSbaFmVy3QfhpVZ3NpG4ILftJ8oEWhTptQQamki+7JduZ6rBa\nVoKyhsHrQMJZmJM8ZtbcOMwTwjp5+bCn1nTu8mg4DwR29pMDpGMuXzy1FeSPfa1q\nw/fYOD5FoPi0GcXJEkxiZt9rj41neuSKEP6POuLDR7yiuKasKtjP9/zh+bfJ9SIO\nz75IXUFMEL5ZWEVQZCp2uXf4kLMMpDBbs/5qWfB/mV0LNoYgRJ+6pJWcEsm3MPX3\nXGf8iEjxDSDAdskJTk9wWrd6pD1PEalE3rT3L+fvaPdYr4A6AQKCAQEA5PHbJWX2\nTflCgRediVZSVehKW7iW5KjjOUUe85rvGlOqQD66vOMjJfEJU83srhpI6tfJ3roi\nb2NK9XCEuXhQmeC74kZiLxVQFF8wY6j5mGAGMz6j/EGcoxZNhatLIbKNUtyKhFSo\n9+buVM5SZNG69WP5jIvGYR586EQv8/OlBB3ubcLYOT49oB7Z+onkIaeeYboXv+Tr\nXJ/JY7DAx0ZKIL8Dvg4kdJtRqFVi5jKfOENnV8Rj90wRcMbBAV7dDDvZhFju0uBm\n3O1y8sSIw8xBWkA4zgZl+Voscrruepp3MSceOczAtbwFcUwKymWucZ69FSr20iyG\n3ym6oMR2X4ZBcwKCAQEA2Kw46Soq47TsYwZvx8GnVM8t8CJDO5yPWPwppVKeYgwT\ng6du84Lf6WP2KB992J144rioVbfhSefuMZ8f7v/UaQvsPFE4SGRO2JVvBHy49vxI\n0zGTBAiIvKzQ6bQ3VqXdxdR+NsnQ2XICqhWPEbbqKZ1FmBC6ydaATXoz5nTDX0IA\nzPH3vaG0YQXrCyIN8iAdsv75BazPZqcjj6cm7CYi87kFvNVghfNAbsPgGnTxhgsg\ntnjWnWjnrTiy0lYHRPYoRnBSw3gcTlxJSPv+LvVxdEuEscFW0A3VsqlEsKw5FS8O\nj8o0iEjiTLtOHTHYggN2dnbmEG0gu1foHqPnyQOPbQKCAQEAzDG6V3y9VYY/fovl\nghxvixeHWo8kZgULxISVuogxQbXlXy+TteyP6MM2onxD4HSpHGwiLHivRdG1hXs5\npYJdwSDj8kj8QSotJj5QFlMbaoAah5ITCGYsoni9476HYCK0UXdKRASOP6zEXPc4\nHZvBuCPW6zevU+exWCeY7WgdgbKAeX0TBNsyc6GQoRhjVHD/ngIwNIKkORR6tmNr\nTVCvxM0ZNWW/thDhn9WoQ9Bamf/kKC+NSX+a/o8GjYZieQrYUmZPe92RYPKXV1da\n8+c1Up19DKRAR0nZ4uo+0TL7o+dT2hF4v55W7Fn6NdLC56vA0SRkx8fW8ytwvPr8\n6O4BaQKCAQASakDEAGN4yu20VN23OoxANwOOfzr7nAjK5VOcy3LOnnwiGl7hr2Pc\ncDSBoHuPp4KYsl0MO/6Xy3CBIycRpwikjPDdB4IjFPNmkPzIgtktlK+T04jNNPR6\nJK30zu5NHPfGUpMPkQOBF6GGVyK7vLIWK1m43OMjOGnbK+GxWocoV3G9+Wq24UF1\nZY1eetx4kaY0ilsb0l4mOVpaYTh7pZoe4MDOFcyIVe5J+7fWR84nOFbla0vCQSI/\npKv+GHWxtMIjinReTJ0LQ+iunUwzLYUg/zId8XKxaBubfatq4JhRZph0PBlO4/Ln\n1puC+7ONCUJOOzi+eKfphEUkJYYTnYvZAoIBABtykB17voNo1KVAQz2pMyg0Q2bu\nLWUdk1qKXF1VA4GlTAoylvX33N3f3rT176TRrSAfD3pjuRiWECWQ3ZayubTmEMAm\nZvpv90jEn1HfRdT9Ymic4506ctv074/nfQJWX7TR5gfN87VlxH+ISqkaqjhUcXHk\nbuBQ93oz/nENi+wWkTOtouQ6QzR6LIqmR/EofMDHi/vgCMFkg4+1kSSqOeDvWLGE\nWG5J/FJm/YY9c1G0kY7CMwq1WGyGUgpd0Xtqze0v7qqI3pwilRo7R/3+9OfAS58s\nRt4IpcVVl+gvmjsV4PWILGI3EbCP6WOCbJPGjdVmRxl/8Ng4HYwU8DCveiQ=\n-----END RSA PRIVATE KEY-----\n"""\n'
RS_AWS_JSON_FILE = 'HTTP/1.1 200 OK\nServer: Werkzeug/3.1.3 Python/3.11.9\nDate: Tue, 11 Mar 2025 15:20:12 GMT\nContent-Type: application/json\nContent-Length: 139\nConnection: close\n\n{\n  "data": {\n    "aws_access_key": "AKIAN95B87AWHT6U0699",\n    "region": "us-west-2",\n    "user": "testuser"\n  },\n  "status": "success"\n}\n'
GG_RSA_PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAIIRkYjxjE3KIZiEc8k4sWWGNsPYRNE0u0bl5oFVApPLm+uXQ/4l\nbKO9LFtMiVPy700oMWLScwAN5OAiqVLMvHUCAwEAAQJANLr8nmEWuV6t2hAwhK5I\nNNmBkEo4M/xFxEtl9J7LKbE2gtNrlCQiJlPP1EMhwAjDOzQcJ3lgFB28dkqH5rMW\nTQIhANrCE7O+wlCKe0WJqQ3lYlHG91XWyGVgfExJwBDsAD9LAiEAmDY5OSsH0n2A\n22tthkAvcN1s66lG+0DztOVJ4QLI2z8CIBPeDGwGpx8pdIicN/5LFuLWbyAcoZaT\nbLaA/DCNPniBAiA0l//bzg+M3srIhm04xzLdR9Vb9IjPRlkvN074zdKDVwIhAKJb\nRF3C+CMFb0wXme/ovcDeM1+3W/UmSHYUW4b3WYq4\n-----END RSA PRIVATE KEY-----"
GG_TEST_TOKEN = "8a784aab7090f6a4ba3b9f7a6594e2e727007a26590b58ed314e4b9ed4536479sRZlRup3xvtMVfiHWAanbe712Jtc3nY8veZux5raL1bhpaxiv0rfyhFoAIMZUCh2Njyk7gRVsSQFPrEphSJnxa16SIdWKb03sRft770LUTTYTAy3IM18A7Su4HjiHlGA9ihLj9ou3luadfRAATlKH6kAZwTw289Kq9uip67zxyWkUJdh6PTeFpMgCh3AhHcZ21VeZHlu12345"

# ----------------------------------------------------------------------------------------------------------------
# Upstream test strings in contexts written for this corpus.
# Each entry: (category, kind, source, template, secrets, may_redact). In the template, <0>, <1>, ... stand for
# the secrets (in order); may_redact strings are written literally.
# ----------------------------------------------------------------------------------------------------------------

DISCORD_1 = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"
DISCORD_2 = "Nzk5MjgxNDk0NDc2NDU1OTg3.YABS5g.2lmzECVlZv3vv6miVnUaKPQi2wI"
DISCORD_3 = "OTUyNED5MDk2MTMxNzc2MkEz.GSroKE.g2MTwve8OnUAAByz8KV_ZTV1Ipzg4o_NmQWUMs"
DISCORD_4 = "MTAyOTQ4MTN5OTU5MTDwMEcxNg.GSwJyi.sbaw8msOR3Wi6vPUzeIWy_P0vJbB0UuRVjH8l8"
JWT_IO = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
JWT_UNICODE = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IsWww6HFkcOtIMOWxZHDqcOoIiwiaWF0IjoxNTE2"
    "MjM5MDIyfQ.k5HibI_uLn_RTuPcaCNkaVaQH2y5q6GvJg8GPpGMRwQ"
)
JWT_CRLF = (
    "eyJ0eXAiOiJKV1QiLA0KImFsZyI6IkhTMjU2In0.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
)
JWT_LF = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiSm9lIiwKInN0YXR1cyI6ImVtcGxveWVlIgp9"
PYPI_1 = (
    "pypi-AgEIcHlwaS5vcmcCJDU3OTM1MjliLWIyYTYtNDEwOC05NzRkLTM0MjNiNmEwNWIzYgACF1sxLFsitesttestbWluaW1hbC1wcm9qZWN0Il1d"
    "AAIsWzIsWyJjYWY4OTAwZi0xNDMwLTRiYQstYmFmMi1mMDE3OGIyNWZhNTkiXV0AAAYgh2UINPjWBDwT0r3tQ1o5oZyswcjN0-IluP6z34SX3KM"
)
PYPI_2 = (
    "pypi-AgENdGVzdC5weXBpLm9yZwIkN2YxOWZhOWEtY2FjYS00MGZhLTj2MGEtODFjMnE2MjdmMzY0AAIqWzMsImJlM2FiOWI5LTRmYUTnNEg4ZS04"
    "Mjk0LWFlY2Y2NWYzNGYzNyJdAAAGIMb5Hb8nVvhcAizcVVzA-bKKnwN7Pe0RmgPRCvrPwyJf"
)
AZURE_DS = "lJzRc1YdHaAA2KCNJJ1tkYwF/+mKK6Ygw0NGe170Xu592euJv2wYUtBlV8z+qnlcNQSnIYVTkLWntUO1F8j8rQ=="
CL_PW = "abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234"
B64_URLSAFE = "I6FwzQZFL9l-44nviI1F04OTmorMaVQf9GS4Oe07qxL_vNkW6CRas4Lo42vqJMT0M6riJfma_f-pTAuoX2U="
TF_TOKEN = "47briy6QVrPNDx.atlasv1.3mN8lSunwfczCI44eDPUmUx5t9NTBjalbNpE6w0Qj1uFe0QuRC3Y2t21Wbpqyf1MXzo"

UPSTREAM = [
    # --- Yelp/detect-secrets ------------------------------------------------------------------------------------
    (
        "env",
        "generic-high-entropy",
        DS + "test_data/config.env",
        "mimi=<0>\n",
        ["gX69YO4CvBsVjzAwYxdGyDd30t5+9ez31gKATtj4"],
        [],
    ),
    (
        "yaml_config",
        "password-assignment",
        DS + "test_data/config.ini",
        "[credentials]\npassword = <0>\n\n[key with id in name]\nreal_secret_which_isnt_an_i_d = <1>\n",
        ["123456789a1234", "vh987tyw9ehy8ghis7vwyhiwbwitefy7w3ASDGYDGUASDG"],
        [],
    ),
    (
        "source_code",
        "generic-high-entropy",
        DS + "test_data/each_secret.py",
        "red_herring = 'DEADBEEF'\nid = 'YW1pYWx3YXlzZ2VuZXJhdGluZ3BheWxvYWRzd2hlbmltaHVuZ3J5b3JhbWlhbHdheXNodW5ncnk'\n\n"
        "base64_secret = '<0>'\nhex_secret = '<1>'\nbasic_auth = 'http://username:<2>@example.com'\n",
        [
            "c2VjcmV0IG1lc3NhZ2Ugc28geW91J2xsIG5ldmVyIGd1ZXNzIG15IHBhc3N3b3Jk",
            "8b1118b376c313ed420e5133ba91307817ed52c2",
            "whywouldyouusehttpforpasswords",
        ],
        ["YW1pYWx3YXlzZ2VuZXJhdGluZ3BheWxvYWRzd2hlbmltaHVuZ3J5b3JhbWlhbHdheXNodW5ncnk"],
    ),
    (
        "source_code",
        "generic-high-entropy",
        DS + "test_data/files/file_with_secrets.py",
        "#!/usr/bin/python\n# Will change this later.\nSUPER_SEECRET_VALUE = '<0>'\nVERY_SECRET_TOO = '<1>'  # pragma: allowlist secret\n\n\n"
        "def main():\n    print('Hello world!')\n",
        ["c3VwZXIgbG9uZyBzdHJpbmcgc2hvdWxkIGNhdXNlIGVub3VnaCBlbnRyb3B5", "f6CGV4aMM9zedoh3OUNbSakBymo7yplB"],
        [],
    ),
    (
        "private_key",
        "private-key",
        DS + "test_data/files/private_key",
        "$ cat ~/.ssh/deploy_key\n-----BEGIN OPENSSH PRIVATE KEY-----\n<0>\n-----END OPENSSH PRIVATE KEY-----\n",
        ["somethingSuperRandomAndSecretHereThatShouldNeverBeShared"],
        [],
    ),
    (
        "http",
        "discord-bot-token",
        DS + "tests/plugins/discord_test.py",
        "GET /api/v10/users/@me HTTP/1.1\nHost: discord.com\nAuthorization: Bot <0>\nUser-Agent: DiscordBot (https://example.org, 1.0)\n",
        [DISCORD_1],
        [],
    ),
    (
        "env",
        "discord-bot-token",
        DS + "tests/plugins/discord_test.py",
        "DISCORD_TOKEN=<0>\nDISCORD_GUILD_ID=873460812356845578\n",
        [DISCORD_2],
        [],
    ),
    (
        "source_code",
        "discord-bot-token",
        DS + "tests/plugins/discord_test.py",
        "import discord\n\nintents = discord.Intents.default()\nclient = discord.Client(intents=intents)\nclient.run('<0>')\n",
        [DISCORD_3],
        [],
    ),
    (
        "logs",
        "discord-bot-token",
        DS + "tests/plugins/discord_test.py",
        "2024-05-02 11:04:17,221 INFO bot.main: starting shard 0/1\n2024-05-02 11:04:17,233 DEBUG bot.http: login with token=<0>\n"
        "2024-05-02 11:04:18,010 INFO bot.gateway: connected, session 4f1c2a\n",
        [DISCORD_4],
        [],
    ),
    (
        "http",
        "github-pat",
        DS + "tests/plugins/github_token_test.py",
        "GET /repos/acme/infra/actions/runs?per_page=5 HTTP/1.1\nHost: api.github.com\nAccept: application/vnd.github+json\n"
        "Authorization: token <0>\nX-GitHub-Api-Version: 2022-11-28\n",
        ["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"],
        [],
    ),
    (
        "shell",
        "gitlab-pat",
        DS + "tests/plugins/gitlab_token_test.py",
        "git clone https://oauth2:<0>@gitlab.com/acme/platform/deploy-scripts.git\ncd deploy-scripts && make plan\n",
        ["glpat-hellOworld380_testin"],
        [],
    ),
    (
        "yaml_config",
        "gitlab-deploy-token",
        DS + "tests/plugins/gitlab_token_test.py",
        "# values.yaml\nimage:\n  repository: registry.gitlab.com/acme/api\n  pullSecret:\n    username: gitlab+deploy-token-81\n    password: <0>\n",
        ["gldt-HwllOuhfw-wu0rlD_yep"],
        [],
    ),
    (
        "shell",
        "gitlab-runner-token",
        DS + "tests/plugins/gitlab_token_test.py",
        "sudo gitlab-runner register --non-interactive --url https://gitlab.example.com/ \\\n  --registration-token <0> --executor docker \\\n"
        "  --docker-image alpine:3.19 --description build-box-7\n",
        ["GR1348941PREfix_helloworld380"],
        [],
    ),
    (
        "logs",
        "gitlab-ci-job-token",
        DS + "tests/plugins/gitlab_token_test.py",
        'Running with gitlab-runner 16.10.0 (81ab07f6)\n$ echo "job token: $CI_JOB_TOKEN"\njob token: <0>\n$ ./gradlew publish\n',
        ["glcbt-helloworld380_testin"],
        [],
    ),
    (
        "url",
        "gitlab-trigger-token",
        DS + "tests/plugins/gitlab_token_test.py",
        "https://gitlab.example.com/api/v4/projects/42/ref/main/trigger/pipeline?token=<0>&variables[DEPLOY]=true\n",
        ["glptt-Need5_T00-be-exactly-40-chars--ELse_fail"],
        [],
    ),
    (
        "shell",
        "gitlab-agent-token",
        DS + "tests/plugins/gitlab_token_test.py",
        "helm upgrade --install k8s-agent gitlab/gitlab-agent --namespace gitlab-agent \\\n  --set config.token=<0> \\\n"
        "  --set config.kasAddress=wss://kas.gitlab.com\n",
        ["glagent-Need5_T00-bee-longer-than-50_chars-or-else-failING"],
        [],
    ),
    (
        "env",
        "gitlab-oauth-secret",
        DS + "tests/plugins/gitlab_token_test.py",
        "GITLAB_OAUTH_APP_ID=8c2b7d0e\nGITLAB_OAUTH_APP_SECRET=<0>\n",
        ["gloas-checking_Length-Is-_exactly_64--checking_Length-Is-_exactly_64--"],
        [],
    ),
    (
        "yaml_config",
        "gitlab-incoming-mail-token",
        DS + "tests/plugins/gitlab_token_test.py",
        "incoming_email:\n  enabled: true\n  address: incoming+%{key}@gitlab.example.com\n  token: <0>\n",
        ["glimt-my-tokens_are-correctAB38"],
        [],
    ),
    (
        "http",
        "jwt",
        DS + "tests/plugins/jwt_test.py",
        "POST /graphql HTTP/1.1\nHost: api.internal.example.net\nContent-Type: application/json\nAuthorization: Bearer <0>\nContent-Length: 61\n\n"
        '{"query":"{ viewer { id login } }","variables":{}}\n',
        [JWT_IO],
        [],
    ),
    (
        "logs",
        "jwt",
        DS + "tests/plugins/jwt_test.py",
        '{"ts":"2024-03-11T09:12:44.120Z","level":"debug","msg":"verifying token","token":"<0>","kid":null}\n'
        '{"ts":"2024-03-11T09:12:44.121Z","level":"info","msg":"token accepted","sub":"1234567890"}\n',
        [JWT_UNICODE],
        [],
    ),
    (
        "url",
        "jwt",
        DS + "tests/plugins/jwt_test.py",
        "https://app.example.com/sso/callback?id_token=<0>&state=af0ifjsldkj\n",
        [JWT_CRLF],
        [],
    ),
    (
        "json_config",
        "jwt",
        DS + "tests/plugins/jwt_test.py",
        '{\n  "profile": "staging",\n  "auth": {\n    "id_token": "<0>",\n    "expires_in": 3600\n  }\n}\n',
        [JWT_LF],
        [],
    ),
    (
        "shell",
        "mailchimp-api-key",
        DS + "tests/plugins/mailchimp_key_test.py",
        "curl -sS --user \"anystring:<0>\" https://us30.api.mailchimp.com/3.0/lists | jq '.lists[].id'\n",
        ["343ea45721923ed956e2b38c31db76aa-us30"],
        [],
    ),
    (
        "env",
        "mailchimp-api-key",
        DS + "tests/plugins/mailchimp_key_test.py",
        "MAILCHIMP_API_KEY=<0>\nMAILCHIMP_LIST_ID=9e67587f52\n",
        ["a2937653ed38c31a43ea46e2b19257db-us2"],
        [],
    ),
    (
        "yaml_config",
        "npm-token",
        DS + "tests/plugins/npm_test.py",
        "# ~/.npmrc\n//registry.npmjs.org/:_authToken=<0>\n@acme:registry=https://npm.pkg.github.com\n",
        ["743b294a-cd03-11ec-9d64-0242ac120002"],
        [],
    ),
    (
        "shell",
        "npm-token",
        DS + "tests/plugins/npm_test.py",
        "npm config set //registry.npmjs.org/:_authToken <0>\nnpm publish --access public\n",
        ["346a14f2-a672-4668-a892-956a462ab56e"],
        [],
    ),
    (
        "http",
        "openai-api-key",
        DS + "tests/plugins/openai_test.py",
        "POST /v1/chat/completions HTTP/1.1\nHost: api.openai.com\nAuthorization: Bearer <0>\nContent-Type: application/json\n\n"
        '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"ping"}]}\n',
        ["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"],
        [],
    ),
    (
        "env",
        "openai-api-key",
        DS + "tests/plugins/openai_test.py",
        "# .env.local\nOPENAI_API_KEY=<0>\nOPENAI_ORG=org-acme\n",
        ["sk-proj-Xi8tdMjHV6pmbBbwilTeT3BlbkFJ3UDnpdEwNNm6wVBpYM0o"],
        [],
    ),
    (
        "yaml_config",
        "pypi-token",
        DS + "tests/plugins/pypi_token_test.py",
        "[distutils]\nindex-servers =\n    pypi\n\n[pypi]\nusername = __token__\npassword = <0>\n",
        [PYPI_1],
        [],
    ),
    (
        "shell",
        "pypi-token",
        DS + "tests/plugins/pypi_token_test.py",
        "python -m build\ntwine upload --repository testpypi -u __token__ -p <0> dist/*\n",
        [PYPI_2],
        [],
    ),
    (
        "http",
        "sendgrid-api-key",
        DS + "tests/plugins/sendgrid_test.py",
        "POST /v3/mail/send HTTP/1.1\nHost: api.sendgrid.com\nAuthorization: Bearer <0>\nContent-Type: application/json\n",
        ["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"],
        [],
    ),
    (
        "logs",
        "slack-user-token",
        DS + "tests/plugins/slack_test.py",
        "[2024-01-19 16:02:11] notifier.WARNING: chat.postMessage failed (not_in_channel) token=<0> channel=#deploys\n",
        ["xoxp-523423-234243-234233-e039d02840a0b9379c"],
        [],
    ),
    (
        "source_code",
        "slack-bot-token",
        DS + "tests/plugins/slack_test.py",
        'from slack_sdk import WebClient\n\nclient = WebClient(token="<0>")\nclient.chat_postMessage(channel="#ops", text=summary)\n',
        ["xoxb-34532454-e039d02840a0b9379c"],
        [],
    ),
    (
        "env",
        "slack-refresh-token",
        DS + "tests/plugins/slack_test.py",
        "SLACK_REFRESH_TOKEN=<0>\n",
        ["xoxr-523423-234243-234233-e039d02840a0b9379c"],
        [],
    ),
    (
        "shell",
        "stripe-secret-key",
        DS + "tests/plugins/stripe_key_test.py",
        "curl https://api.stripe.com/v1/charges -u <0>: -d amount=2000 -d currency=usd -d source=tok_visa\n",
        ["sk_live_ReTllpYQYfIZu2Jnf2lAPFjD"],
        [],
    ),
    (
        "env",
        "stripe-restricted-key",
        DS + "tests/plugins/stripe_key_test.py",
        "STRIPE_RESTRICTED_KEY=<0>\nSTRIPE_WEBHOOK_PATH=/hooks/stripe\n",
        ["rk_live_5TcWfjKmJgpql9hjpRnwRXbT"],
        [],
    ),
    (
        "url",
        "telegram-bot-token",
        DS + "tests/plugins/telegram_token_test.py",
        "https://api.telegram.org/bot<0>/getMe\n",
        ["110201543:AAHdqTcvCH1vGWJxfSe1ofSAs0K5PALDsaw"],
        [],
    ),
    (
        "logs",
        "telegram-bot-token",
        DS + "tests/plugins/telegram_token_test.py",
        "Mar 02 10:15:01 vps1 alertbot[812]: POST https://api.telegram.org/bot<0>/sendMessage -> 200 OK (134 ms)\n",
        ["7213808860:AAH1bjqpKKW3maRSPAxzIU-0v6xNuq2-NjM"],
        [],
    ),
    (
        "yaml_config",
        "password-assignment",
        DS + "tests/plugins/keyword_test.py",
        "production:\n  adapter: postgresql\n  host: db1.internal\n  db_pass: <0>\n",
        ["m{{h}o)p${e]nob(ody[finds>-_$#thisone}}"],
        [],
    ),
    (
        "source_code",
        "password-assignment",
        DS + "tests/plugins/keyword_test.py",
        'def connect():\n    password = "<0>"\n    return Client(host="10.0.4.7", user="svc", password=password)\n',
        ["value with quotes and spaces"],
        [],
    ),
    (
        "logs",
        "azure-storage-key",
        DS + "tests/plugins/azure_storage_key_test.py",
        'Traceback (most recent call last):\n  File "/app/sync.py", line 88, in <module>\n    svc = BlobServiceClient.from_connection_string(conn)\n'
        "ValueError: Connection string is either blank or malformed: "
        "'DefaultEndpointsProtocol=https;AccountName=acmebackups;AccountKey=<0>;EndpointSuffix=core.windows.net;;'\n",
        [AZURE_DS],
        [],
    ),
    (
        "json_config",
        "generic-high-entropy",
        DS + "tests/plugins/high_entropy_strings_test.py",
        '{\n  "installed": {\n    "client_id": "desktop-app",\n    "client_secret": "<0>",\n    "redirect_uris": ["http://localhost"]\n  }\n}\n',
        [B64_URLSAFE],
        [],
    ),
    (
        "env",
        "generic-high-entropy",
        DS + "tests/plugins/high_entropy_strings_test.py",
        "SESSION_SECRET=<0>\nSESSION_TTL=86400\n",
        ["2b00042f7481c7b056c4b410d28f33cf"],
        [],
    ),
    (
        "shell",
        "ibm-cloud-api-key",
        DS + "tests/plugins/ibm_cloud_iam_test.py",
        "ibmcloud login --apikey <0> -r eu-de -g default\nibmcloud ks cluster config --cluster prod-eu\n",
        ["abcd1234abcd1234abcd1234ABCD1234ABCD1234--__"],
        [],
    ),
    (
        "url",
        "url-credentials",
        DS + "tests/plugins/cloudant_test.py",
        "https://testy_-test:<0>@testy_-test.cloudant.com/_api/v2/db/orders\n",
        [CL_PW],
        [],
    ),
    (
        "yaml_config",
        "ibm-cos-hmac",
        DS + "tests/plugins/ibm_cos_hmac_test.py",
        "cos_hmac_keys:\n  access_key_id: 5f0c6d1e9a7b4c2d8e3f1a0b6c9d2e4f\n  secret_access_key: <0>\n",
        ["1234567890abcdef1234567890abcdef1234567890abcdef"],
        ["5f0c6d1e9a7b4c2d8e3f1a0b6c9d2e4f"],
    ),
    (
        "source_code",
        "generic-api-key",
        DS + "test_data/config.md",
        'SEARCH_API_KEY = "<0>"\nSEARCH_URL = "https://search.example.com/v2"\n',
        ["ToCynx5Se4e2PtoZxEhW7lUJcOX15c54"],
        [],
    ),
    # --- GitGuardian/ggshield -----------------------------------------------------------------------------------
    (
        "source_code",
        "sendgrid-api-key",
        GG + "tests/unit/conftest.py",
        'sg_key = "<0>";\nsend(sg_key, to=recipients)\n',
        ["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"],
        [],
    ),
    (
        "source_code",
        "facebook-app-secret",
        GG + "tests/unit/conftest.py",
        "FacebookAppId = 294790898041575; FacebookAppSecret = <0>;\n",
        ["ce3f9f0362bbe5ab01dfc8ee565e4372"],
        ["294790898041575"],
    ),
    (
        "shell",
        "password-cli-flag",
        GG + "tests/unit/conftest.py",
        "docker run --name geonetwork -d \\\n            -p 8080:8080 -e MYSQL_HOST=google.com \\\n            -e MYSQL_PORT=5434 -e MYSQL_USERNAME=root \\\n"
        "            -e MYSQL_PASSWORD=<0> geonetwork\n",
        ["m42ploz2wd"],
        [],
    ),
    (
        "source_code",
        "gitguardian-api-key",
        GG + "tests/unit/conftest.py",
        '# gg token\napikey = "<0>";\n',
        [GG_TEST_TOKEN],
        [],
    ),
    (
        "yaml_config",
        "github-token",
        GG + "tests/unit/conftest.py",
        "github_token: <0>\n",
        ["368ac3edf9e850d1c0ff9d6c526496f8237ddf91"],
        [],
    ),
    (
        "shell",
        "password-cli-flag",
        GG + "tests/unit/cmd/test_config_migrate.py",
        "mysql -h db.internal -u admin -p<0> -e 'SHOW DATABASES;'\n",
        ["05Panda_8463"],
        [],
    ),
    # --- sirwart/ripsecrets -------------------------------------------------------------------------------------
    (
        "http",
        "aws-access-key",
        RS + "test/one_per_file/aws_json",
        RS_AWS_JSON_FILE.replace("AKIAN95B87AWHT6U0699", "<0>"),
        ["AKIAN95B87AWHT6U0699"],
        [],
    ),
    (
        "private_key",
        "age-secret-key",
        RS + "test/one_per_line/age",
        "# created: 2023-04-18T10:21:33+02:00\n# public key: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n<0>\n",
        ["AGE-SECRET-KEY-1Y5JDPF0K03KJV5ZPVMGESWF8JQZR8AU7ZWPMRQMM2D9Y8G0QRNZSZVU0ZN"],
        [],
    ),
    (
        "env",
        "age-secret-key",
        RS + "test/one_per_line/age",
        "SOPS_AGE_KEY=<0>\n",
        ["AGE-SECRET-KEY-13JCDF682MCF4V7LPYVCE85VTSNC60TPX5ZYSSNK599PGTFX9L3TQVW5JTH"],
        [],
    ),
    (
        "source_code",
        "aws-secret-key",
        RS + "test/one_per_line/aws",
        "import boto3\n\nsession = boto3.Session(\n    aws_access_key_id=KEY_ID,\n    aws_secret_access_key='<0>',\n)\n",
        ["1W0T1eqNpAk3imtH8mJtkSf2AQ3eNMrPqe3u3Tf6"],
        [],
    ),
    (
        "source_code",
        "aws-secret-key",
        RS + "test/one_per_line/aws",
        'const s3 = new S3Client({\n  region: "eu-west-1",\n  credentials: { accessKeyId: process.env.AWS_KEY_ID, secretAccessKey: "<0>" },\n});\n',
        ["wrmDCcpolP3yg9l7o9dJragXbj2wFFzWgiN5FBZN"],
        [],
    ),
    (
        "yaml_config",
        "aws-secret-key",
        RS + "test/one_per_line/aws",
        "jobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:\n      AWS_REGION: us-east-2\n      SECRET_ACCESS_KEY: <0>\n",
        ["2OYzBCp/+N9pUJ3a8JA5lOLYL/iKBFYVlif3pIHl"],
        [],
    ),
    (
        "env",
        "azure-client-secret",
        RS + "test/one_per_line/azure",
        "AZURE_TENANT_ID=72f988bf-86f1-41af-91ab-2d7cd011db47\nAZURE_CLIENT_ID=04b07795-8ddb-461a-bbee-02f9e1bf7b46\nAZURE_CLIENT_SECRET=<0>\n",
        ["GN.7Q~4AkLZBNEbz4Jxlm~O5G6SsyFxYg6zNR"],
        [],
    ),
    (
        "yaml_config",
        "azure-client-secret",
        RS + "test/one_per_line/azure",
        "azure:\n  activeDirectory:\n    clientId: 1950a258-227b-4e31-a9cf-717495945fc2\n    clientSecret: <0>\n",
        ["2N87Q~4m2Bkq.tjC7pDkGksXPutGkChIGNqYc"],
        [],
    ),
    (
        "url",
        "gcp-api-key",
        RS + "test/one_per_line/gcp",
        "https://maps.googleapis.com/maps/api/geocode/json?address=1600+Amphitheatre+Parkway&key=<0>\n",
        ["AIzaSyCw8XmxlGXVRySZxKiuZhFCALuXbLqqHBI"],
        [],
    ),
    (
        "json_config",
        "gcp-api-key",
        RS + "test/one_per_line/gcp",
        '{\n  "firebase": {\n    "apiKey": "<0>",\n    "authDomain": "acme-prod.firebaseapp.com",\n    "projectId": "acme-prod"\n  }\n}\n',
        ["AIzaSyBYvIR5fRdK_ZUw4baMjUanLRTA7iopW-I"],
        [],
    ),
    (
        "logs",
        "gcp-api-key",
        RS + "test/one_per_line/gcp",
        '127.0.0.1 - - [12/Feb/2024:08:01:55 +0000] "GET /v1/places/autocomplete?input=ber&key=<0> HTTP/1.1" 200 1432 "-" "okhttp/4.12.0"\n',
        ["AIzaSyBsk5f14YtkTQr-hIbMjMOMSXIV2KdZlrU"],
        [],
    ),
    (
        "http",
        "gitlab-pat",
        RS + "test/one_per_line/gitlab",
        "GET /api/v4/projects?membership=true HTTP/1.1\nHost: gitlab.com\nPRIVATE-TOKEN: <0>\n",
        ["glpat-z_sxgtrfAxKr8q1TPY8Y"],
        [],
    ),
    (
        "yaml_config",
        "maven-password",
        RS + "test/one_per_line/maven",
        "<settings>\n  <servers>\n    <server>\n      <id>nexus-releases</id>\n      <username>deployer</username>\n"
        "      <password><0></password>\n    </server>\n  </servers>\n</settings>\n",
        ["jjGY0Zn8kPrX2aP3PmHpcqKtJBNT4N0Ta1AOUQcxSKkzgwAL9D6zJRqx9bUCcJCH"],
        [],
    ),
    (
        "yaml_config",
        "maven-master-password",
        RS + "test/one_per_line/maven",
        "<settingsSecurity>\n  <master><0></master>\n</settingsSecurity>\n",
        ["{vki9JTFmEYlTlCZixjz0jr5QxEXlZfWga65QZhsA9yV0uRfo2iNyfgZDnWpuYqNi\\}"],
        [],
    ),
    (
        "shell",
        "npm-token",
        RS + "test/one_per_line/npm",
        "NPM_TOKEN=<0> npm publish --tag next\n",
        ["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"],
        [],
    ),
    (
        "source_code",
        "generic-secret",
        RS + "test/one_per_line/random",
        'package auth\n\nconst issuer = "acme"\n\nfunc secret() string {\n\tclientSecretKey := "<0>"\n\treturn clientSecretKey\n}\n',
        ["2Tm6cdsRVBTL9hRCmR6MRDTpMLFS4I"],
        [],
    ),
    (
        "source_code",
        "generic-secret",
        RS + "test/one_per_line/random",
        'HEX_KEY = "<0>"\ncipher = AES.new(bytes.fromhex(HEX_KEY)[:32], AES.MODE_GCM)\n',
        ["9e51341f8d87894c927d0150be0a9676c7427850c11607bb2e8943292a029a91ebed6a91"],
        [],
    ),
    (
        "yaml_config",
        "terraform-cloud-token",
        RS + "test/one_per_line/random",
        '# ~/.terraformrc\ncredentials "app.terraform.io" {\n  token = "<0>"\n}\n',
        [TF_TOKEN],
        [],
    ),
    (
        "json_config",
        "password-assignment",
        RS + "test/one_per_line/random",
        '{\n  "host": "mq.internal",\n  "user": "ingest",\n  "password": "<0>",\n  "vhost": "/"\n}\n',
        ["`-08iOR~zZik6ko^\\JPBy4r"],
        [],
    ),
    ("source_code", "generic-secret", RS + "test/one_per_line/random", 'APP_KEY = "<0>"\n', ["iftkeq2y4qj0nbt"], []),
    (
        "yaml_config",
        "square-secret",
        RS + "test/one_per_line/square",
        "square:\n  application_id: sq0idp-0x3Fv6dEoWfDq1dAZ8bT1Q\n  application_secret: <0>\n",
        ["sq0csp-KJ2M3N4k5p6q7-8s9t0v1w2x_3yKJ2M3N4k5p6q7-8s9t0v"],
        ["sq0idp-0x3Fv6dEoWfDq1dAZ8bT1Q"],
    ),
    (
        "http",
        "square-access-token",
        RS + "test/one_per_line/square",
        "GET /v2/locations HTTP/1.1\nHost: connect.squareup.com\nSquare-Version: 2024-01-18\nAuthorization: Bearer <0>\n",
        ["EAAA3bckPLm8nKzXY9vB4QjR7wF2hGtN5sVdM6pJuE1iZxW+CqH-yA4gTf=aDl0U"],
        [],
    ),
]


# ----------------------------------------------------------------------------------------------------------------
# Synthetic values in the real formats (seeded, reproducible)
# ----------------------------------------------------------------------------------------------------------------

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
UPPER_DIGITS = string.ascii_uppercase + string.digits
WORDS = (
    "amber basalt cedar delta ember fjord garnet harbor indigo juniper kestrel lagoon mesa nimbus onyx "
    "pylon quartz raven sierra tundra umber vortex willow xenon yarrow zephyr"
).split()


class Gen:
    """Seeded generator of secret-shaped values."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def raw(self, n: int) -> bytes:
        return bytes(self.r.getrandbits(8) for _ in range(n))

    def hex(self, n: int) -> str:
        return self.chars("0123456789abcdef", n)

    def digits(self, n: int) -> str:
        return self.chars("123456789", 1) + self.chars(string.digits, n - 1)

    def b64(self, nbytes: int) -> str:
        return base64.b64encode(self.raw(nbytes)).decode()

    def b64url(self, nbytes: int) -> str:
        return base64.urlsafe_b64encode(self.raw(nbytes)).decode().rstrip("=")

    def uuid(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"

    # --- formats with a checksum: GitHub (ghp_/gho_/ghu_/ghs_/ghr_) and npm (npm_) tokens end with the CRC32 of the
    # 30 random characters, in base62 on 6 characters.
    def checksummed(self, prefix: str) -> str:
        body = self.chars(ALNUM, 30)
        crc = zlib.crc32(body.encode()) & 0xFFFFFFFF
        enc = ""
        while crc:
            crc, d = divmod(crc, 62)
            enc = BASE62[d] + enc
        return prefix + body + enc.rjust(6, "0")

    def password(self) -> str:
        a, b = self.r.sample(WORDS, 2)
        return f"{a.capitalize()}{self.r.choice('!#%&*+-.=?@^_~')}{b}{self.digits(2)}{self.r.choice('!#$%&*?@')}"

    # --- provider formats
    def aws_key_id(self, prefix: str = "AKIA") -> str:
        return prefix + self.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)

    def aws_secret(self) -> str:
        return self.chars(ALNUM + "/+", 40)

    def github_fine_grained(self) -> str:
        return "github_pat_11" + self.chars(UPPER_DIGITS, 20) + "_" + self.chars(ALNUM, 59)

    def gitlab_pat(self) -> str:
        return "glpat-" + self.chars(URLSAFE, 20)

    def slack_bot(self) -> str:
        return f"xoxb-{self.digits(12)}-{self.digits(13)}-{self.chars(ALNUM, 24)}"

    def slack_user(self) -> str:
        return f"xoxp-{self.digits(12)}-{self.digits(12)}-{self.digits(13)}-{self.hex(32)}"

    def slack_webhook(self) -> str:
        return f"https://hooks.slack.com/services/T{self.chars(UPPER_DIGITS, 10)}/B{self.chars(UPPER_DIGITS, 10)}/{self.chars(ALNUM, 24)}"

    def stripe(self, prefix: str = "sk_live_") -> str:
        return prefix + "51" + self.chars(ALNUM, 97)

    def openai(self) -> str:
        return "sk-proj-" + self.chars(URLSAFE, 74) + "T3BlbkFJ" + self.chars(URLSAFE, 74)

    def anthropic(self) -> str:
        return "sk-ant-api03-" + self.chars(URLSAFE, 93) + "AA"

    def gcp_api_key(self) -> str:
        return "AIza" + self.chars(URLSAFE, 35)

    def sendgrid(self) -> str:
        return "SG." + self.chars(URLSAFE, 22) + "." + self.chars(URLSAFE, 43)

    def twilio_key(self) -> str:
        return "SK" + self.hex(32)

    def pypi(self) -> str:
        return "pypi-AgEIcHlwaS5vcmc" + self.b64url(120)

    def hf(self) -> str:
        return "hf_" + self.chars(string.ascii_letters, 34)

    def dockerhub(self) -> str:
        return "dckr_pat_" + self.chars(URLSAFE, 27)

    def linear(self) -> str:
        return "lin_api_" + self.chars(ALNUM, 40)

    def shopify(self) -> str:
        return "shpat_" + self.hex(32)

    def datadog(self) -> str:
        return self.hex(32)

    def azure_storage(self) -> str:
        return self.b64(64)

    def jwt(self, claims: dict) -> str:
        def enc(obj: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")

        head = enc({"alg": "HS256", "typ": "JWT"})
        body = enc(claims)
        sig = hmac.new(self.raw(32), f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}." + base64.urlsafe_b64encode(sig).decode().rstrip("=")

    def pem_body(self, kind: str, width: int = 64) -> str:
        prefixes = {
            "RSA": b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00",
            "EC": b"\x30\x77\x02\x01\x01\x04\x20",
            "PKCS8": b"\x30\x82\x04\xbe\x02\x01\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00\x04\x82\x04\xa8",
            "OPENSSH": b"openssh-key-v1\x00\x00\x00\x00\x04none\x00\x00\x00\x04none\x00\x00\x00\x00\x00\x00\x00\x01",
            "PGP": b"\x95\x03\xc6\x04",
        }
        sizes = {"RSA": 1180, "EC": 114, "PKCS8": 1190, "OPENSSH": 380, "PGP": 900}
        data = base64.b64encode(prefixes[kind] + self.raw(sizes[kind])).decode()
        return "\n".join(data[i : i + width] for i in range(0, len(data), width))


PEM_LABELS = {
    "RSA": "RSA PRIVATE KEY",
    "EC": "EC PRIVATE KEY",
    "PKCS8": "PRIVATE KEY",
    "OPENSSH": "OPENSSH PRIVATE KEY",
    "PGP": "PGP PRIVATE KEY BLOCK",
}


def pem(label: str, body: str) -> str:
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


# ----------------------------------------------------------------------------------------------------------------
# Corpus assembly
# ----------------------------------------------------------------------------------------------------------------


class Corpus:
    def __init__(self) -> None:
        self.items: list[dict] = []
        self.counts: dict[str, int] = {}

    def add(
        self,
        prefix: str,
        category: str,
        kind: str,
        text: str,
        secrets: list[str],
        source: str,
        may: list[str] | None = None,
        note: str | None = None,
    ) -> None:
        n = self.counts.get(prefix, 0) + 1
        self.counts[prefix] = n
        item: dict = {
            "id": f"{prefix}-{n:03d}",
            "category": category,
            "kind": kind,
            "text": text,
            "secrets": secrets,
            "source": source,
        }
        if may:
            item["may_redact"] = may
        if note:
            item["note"] = note
        self.items.append(item)


def fill(template: str, values: list[str]) -> str:
    for i, v in enumerate(values):
        template = template.replace(f"<{i}>", v)
    return template


def upstream_items(c: Corpus) -> None:
    for category, kind, source, template, secrets, may in UPSTREAM:
        prefix = "ds" if source.startswith(DS) else "gg" if source.startswith(GG) else "rs"
        c.add(
            f"{prefix}-{category}",
            category,
            kind,
            fill(template, secrets),
            secrets,
            source,
            may,
            "context written for this corpus",
        )
    # PEM keys: the labelled secret is the key body (the BEGIN/END lines are not secret).
    gg_body = GG_RSA_PEM.split("-----\n", 1)[1].rsplit("\n-----END", 1)[0]
    src = GG + "tests/unit/conftest.py"
    c.add(
        "gg-private_key",
        "private_key",
        "private-key",
        f"$ cat deploy/id_rsa\n{GG_RSA_PEM}\n$ chmod 600 deploy/id_rsa\n",
        [gg_body],
        src,
    )
    esc = gg_body.replace("\n", "\\n")
    c.add(
        "gg-private_key",
        "private_key",
        "private-key",
        '{\n  "name": "sftp-upload",\n  "host": "files.partner.example",\n  "username": "acme",\n'
        f'  "private_key": "-----BEGIN RSA PRIVATE KEY-----\\n{esc}\\n-----END RSA PRIVATE KEY-----\\n"\n}}\n',
        [esc],
        src,
        note="JSON-escaped PEM; context written for this corpus",
    )
    indented = "\n".join("    " + line for line in GG_RSA_PEM.splitlines())
    c.add(
        "gg-private_key",
        "private_key",
        "private-key",
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: git-ssh\ntype: Opaque\nstringData:\n  ssh-privatekey: |\n{indented}\n",
        ["\n".join("    " + line for line in gg_body.splitlines()).strip()],
        src,
        note="PEM in a YAML block scalar; context written for this corpus",
    )
    pk_body = RS_PEM_PKCS8_FILE.split("-----\n", 1)[1].rsplit("\n-----END", 1)[0]
    c.add(
        "rs-private_key", "private_key", "private-key", RS_PEM_PKCS8_FILE, [pk_body], RS + "test/one_per_file/pem_key"
    )
    rsa_body = RS_RSA_PY_FILE.split("-----\n", 1)[1].rsplit("\n-----END", 1)[0]
    c.add(
        "rs-private_key", "private_key", "private-key", RS_RSA_PY_FILE, [rsa_body], RS + "test/one_per_file/private_key"
    )


def synthetic_items(c: Corpus, g: Gen) -> None:
    """Secrets generated in the real formats, in contexts written for this corpus."""
    now = 1717430400

    def jwt() -> str:
        return g.jwt(
            {"sub": g.uuid(), "iat": now, "exp": now + 3600, "scope": "read write", "iss": "https://auth.example.com/"}
        )

    def basic(user: str, pw: str) -> str:
        return base64.b64encode(f"{user}:{pw}".encode()).decode()

    specs: list[tuple[str, str, str, list, list]] = [
        # category, kind, template (<n> = secret n, <mN> = may_redact value N), secret makers, may_redact makers
        # --- env
        (
            "env",
            "url-credentials",
            "NODE_ENV=production\nDATABASE_URL=postgres://app:<0>@db.prod.internal:5432/app\nREDIS_URL=redis://cache:6379/0\n",
            [g.password],
            [],
        ),
        (
            "env",
            "aws-credentials",
            "AWS_ACCESS_KEY_ID=<0>\nAWS_SECRET_ACCESS_KEY=<1>\nAWS_DEFAULT_REGION=eu-west-1\n",
            [g.aws_key_id, g.aws_secret],
            [],
        ),
        ("env", "anthropic-api-key", "export ANTHROPIC_API_KEY=<0>\nexport ANTHROPIC_LOG=info\n", [g.anthropic], []),
        (
            "env",
            "stripe-secret-key",
            "STRIPE_SECRET_KEY=<0>\nSTRIPE_PUBLISHABLE_KEY=<m0>\n",
            [g.stripe],
            [lambda: g.stripe("pk_live_")],
        ),
        ("env", "datadog-api-key", "DD_API_KEY=<0>\nDD_SITE=datadoghq.eu\nDD_ENV=prod\n", [g.datadog], []),
        (
            "env",
            "twilio-auth-token",
            "TWILIO_ACCOUNT_SID=<m0>\nTWILIO_AUTH_TOKEN=<0>\nTWILIO_FROM=+15005550006\n",
            [lambda: g.hex(32)],
            [lambda: "AC" + g.hex(32)],
        ),
        (
            "env",
            "password-assignment",
            "# local overrides\nDB_HOST=localhost\nDB_USER=orders\nDB_PASSWORD=<0>\n",
            [g.password],
            [],
        ),
        ("env", "slack-webhook", "SLACK_WEBHOOK_URL=<0>\nSLACK_CHANNEL=#alerts\n", [g.slack_webhook], []),
        (
            "env",
            "openai-api-key",
            'FROM python:3.12-slim\nWORKDIR /app\nENV OPENAI_API_KEY=<0>\nCMD ["python", "main.py"]\n',
            [g.openai],
            [],
        ),
        ("env", "huggingface-token", "export HF_TOKEN=<0>\nexport HF_HOME=/data/hf\n", [g.hf], []),
        # --- shell
        ("shell", "password-cli-flag", "mysql -u root -p'<0>' -h 127.0.0.1 shop < dump.sql\n", [g.password], []),
        ("shell", "dockerhub-pat", "docker login -u acmebot -p <0>\ndocker push acme/api:1.42.0\n", [g.dockerhub], []),
        (
            "shell",
            "github-pat",
            "echo <0> | docker login ghcr.io -u acme-bot --password-stdin\n",
            [lambda: g.checksummed("ghp_")],
            [],
        ),
        (
            "shell",
            "password-cli-flag",
            "PGPASSWORD=<0> psql -h db.internal -U reporting -d analytics -c 'select count(*) from events'\n",
            [g.password],
            [],
        ),
        (
            "shell",
            "aws-secret-key",
            "aws configure set aws_access_key_id <0>\naws configure set aws_secret_access_key <1>\n",
            [g.aws_key_id, g.aws_secret],
            [],
        ),
        (
            "shell",
            "github-app-token",
            "git remote set-url origin https://x-access-token:<0>@github.com/acme/app.git\ngit push origin HEAD\n",
            [lambda: g.checksummed("ghs_")],
            [],
        ),
        (
            "shell",
            "stripe-secret-key",
            "kubectl -n payments create secret generic stripe --from-literal=STRIPE_KEY=<0>\n",
            [g.stripe],
            [],
        ),
        ("shell", "sendgrid-api-key", "heroku config:set SENDGRID_API_KEY=<0> -a acme-web\n", [g.sendgrid], []),
        (
            "shell",
            "password-cli-flag",
            "  1021  ssh-copy-id deploy@10.0.0.12\n  1022  sshpass -p '<0>' ssh deploy@10.0.0.12 uptime\n  1023  history | tail\n",
            [g.password],
            [],
        ),
        (
            "shell",
            "password-cli-flag",
            "redis-cli -h cache.internal -p 6379 -a <0> INFO replication\n",
            [lambda: g.chars(ALNUM, 32)],
            [],
        ),
        (
            "shell",
            "openai-api-key",
            "  501  export OPENAI_API_KEY=<0>\n  502  python agent.py --task summarize\n",
            [g.openai],
            [],
        ),
        # --- json_config
        (
            "json_config",
            "github-pat",
            '{\n  "mcpServers": {\n    "github": {\n      "command": "docker",\n      "args": ["run", "-i", "--rm", "ghcr.io/github/github-mcp-server"],\n      "env": { "GITHUB_PERSONAL_ACCESS_TOKEN": "<0>" }\n    }\n  }\n}\n',
            [g.github_fine_grained],
            [],
        ),
        (
            "json_config",
            "anthropic-api-key",
            '{\n  "env": {\n    "ANTHROPIC_API_KEY": "<0>",\n    "DISABLE_TELEMETRY": "1"\n  },\n  "permissions": { "allow": ["Bash(npm test:*)"] }\n}\n',
            [g.anthropic],
            [],
        ),
        (
            "json_config",
            "db-connection-string",
            '{\n  "ConnectionStrings": {\n    "Default": "Server=sql01.corp;Database=Billing;User Id=billing_app;Password=<0>;TrustServerCertificate=True"\n  },\n  "Logging": { "LogLevel": { "Default": "Warning" } }\n}\n',
            [g.password],
            [],
        ),
        (
            "json_config",
            "docker-registry-auth",
            '{\n  "auths": {\n    "registry.example.com": {\n      "auth": "<0>"\n    }\n  }\n}\n',
            [lambda: basic("ci-bot", g.password())],
            [],
        ),
        (
            "json_config",
            "github-oauth",
            '{\n  "github-oauth": {\n    "github.com": "<0>"\n  }\n}\n',
            [lambda: g.checksummed("gho_")],
            [],
        ),
        (
            "json_config",
            "password-assignment",
            '{\n  "resources": [{\n    "type": "aws_db_instance",\n    "instances": [{ "attributes": { "username": "admin", "password": "<0>", "port": 5432 } }]\n  }]\n}\n',
            [g.password],
            [],
        ),
        (
            "json_config",
            "slack-webhook",
            '{\n  "notifications": {\n    "slack": { "webhook_url": "<0>", "channel": "#ci" }\n  }\n}\n',
            [g.slack_webhook],
            [],
        ),
        # --- yaml_config (YAML, TOML, INI, XML, properties)
        (
            "yaml_config",
            "password-assignment",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  POSTGRES_USER: app\n  POSTGRES_PASSWORD: <0>\n",
            [g.password],
            [],
        ),
        (
            "yaml_config",
            "password-assignment",
            'services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: "<0>"\n    ports: ["5432:5432"]\n',
            [g.password],
            [],
        ),
        (
            "yaml_config",
            "password-assignment",
            "spring:\n  datasource:\n    url: jdbc:postgresql://db:5432/shop\n    username: shop\n    password: <0>\n",
            [g.password],
            [],
        ),
        (
            "yaml_config",
            "password-assignment",
            '[database]\nhost = "db.internal"\nuser = "svc_reports"\npassword = "<0>"\npool_size = 10\n',
            [g.password],
            [],
        ),
        (
            "yaml_config",
            "aws-credentials",
            "[default]\naws_access_key_id = <0>\naws_secret_access_key = <1>\nregion = us-east-1\n",
            [g.aws_key_id, g.aws_secret],
            [],
        ),
        (
            "yaml_config",
            "netrc-password",
            "machine api.heroku.com\n  login ops@example.com\n  password <0>\n",
            [g.uuid],
            [],
        ),
        (
            "yaml_config",
            "linear-api-key",
            "integrations:\n  linear:\n    api_key: <0>\n    team: PLAT\n",
            [g.linear],
            [],
        ),
        # --- http
        (
            "http",
            "jwt",
            "GET /v2/orders?limit=20 HTTP/1.1\nHost: api.shop.example\nAuthorization: Bearer <0>\nAccept: application/json\n",
            [jwt],
            [],
        ),
        (
            "http",
            "basic-auth",
            "GET /api/json HTTP/1.1\nHost: jenkins.internal:8080\nAuthorization: Basic <0>\nUser-Agent: curl/8.5.0\n",
            [lambda: basic("admin", g.password())],
            [],
        ),
        (
            "http",
            "session-cookie",
            "GET /dashboard HTTP/1.1\nHost: admin.example.com\nCookie: theme=dark; sessionid=<0>; csrftoken=<m0>\n",
            [lambda: g.chars(string.ascii_lowercase + string.digits, 32)],
            [lambda: g.chars(ALNUM, 32)],
        ),
        (
            "http",
            "api-key-header",
            'POST /v1/events HTTP/1.1\nHost: ingest.example.io\nX-Api-Key: <0>\nContent-Type: application/json\n\n{"event":"deploy","service":"api"}\n',
            [lambda: g.chars(ALNUM, 40)],
            [],
        ),
        (
            "http",
            "oauth-token-response",
            'HTTP/1.1 200 OK\nContent-Type: application/json\nCache-Control: no-store\n\n{"access_token":"<0>","token_type":"Bearer","expires_in":3599,"refresh_token":"<1>","scope":"repo"}\n',
            [lambda: "ya29." + g.chars(URLSAFE, 150), lambda: "1//0" + g.chars(URLSAFE, 100)],
            [],
        ),
        (
            "http",
            "session-cookie",
            "HTTP/1.1 302 Found\nLocation: /home\nSet-Cookie: __Host-session=<0>; Path=/; Secure; HttpOnly; SameSite=Lax\n",
            [lambda: g.b64url(48)],
            [],
        ),
        (
            "http",
            "anthropic-api-key",
            "POST /v1/messages HTTP/1.1\nHost: api.anthropic.com\nx-api-key: <0>\nanthropic-version: 2023-06-01\ncontent-type: application/json\n",
            [g.anthropic],
            [],
        ),
        (
            "http",
            "basic-auth",
            "CONNECT registry.npmjs.org:443 HTTP/1.1\nHost: registry.npmjs.org:443\nProxy-Authorization: Basic <0>\n",
            [lambda: basic("proxyuser", g.password())],
            [],
        ),
        (
            "http",
            "gitlab-pat",
            "PUT /api/v4/projects/17/variables/DEPLOY_ENV HTTP/1.1\nHost: gitlab.example.com\nPRIVATE-TOKEN: <0>\nContent-Type: application/x-www-form-urlencoded\n\nvalue=prod\n",
            [g.gitlab_pat],
            [],
        ),
        # --- logs
        (
            "logs",
            "bearer-token",
            "send: b'GET /v1/me HTTP/1.1\\r\\nHost: api.example.com\\r\\nAuthorization: Bearer <0>\\r\\nAccept: */*\\r\\n\\r\\n'\nreply: 'HTTP/1.1 200 OK\\r\\n'\n",
            [lambda: g.chars(ALNUM, 40)],
            [],
        ),
        (
            "logs",
            "url-credentials",
            "2024-06-03T10:22:41Z INFO  db: connecting to postgresql://analytics:<0>@10.20.0.5:5432/warehouse (attempt 1)\n2024-06-03T10:22:42Z INFO  db: connected\n",
            [g.password],
            [],
        ),
        (
            "logs",
            "stripe-secret-key",
            "stripe.error.AuthenticationError: Invalid API Key provided: <0>\n  at /srv/app/billing.py:57\n",
            [g.stripe],
            [],
        ),
        (
            "logs",
            "github-pat",
            '{"session_id":"6a1f","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"curl -s -H \\"Authorization: token <0>\\" https://api.github.com/user"}}\n',
            [lambda: g.checksummed("ghp_")],
            [],
        ),
        (
            "logs",
            "aws-credentials",
            "[ci] Configuring AWS credentials\n[ci] AWS_ACCESS_KEY_ID=<0>\n[ci] AWS_SECRET_ACCESS_KEY=<1>\n[ci] Assuming role arn:aws:iam::123456789012:role/deployer\n",
            [lambda: g.aws_key_id("ASIA"), g.aws_secret],
            [],
        ),
        (
            "logs",
            "jwt",
            '10.1.4.22 - - [03/Jun/2024:10:31:07 +0000] "GET /ws?access_token=<0> HTTP/1.1" 101 0 "-" "Mozilla/5.0"\n',
            [jwt],
            [],
        ),
        (
            "logs",
            "npm-token",
            "npm verb getAuth token=<0> for https://registry.npmjs.org/\nnpm http fetch GET 200 https://registry.npmjs.org/left-pad 112ms\n",
            [lambda: g.checksummed("npm_")],
            [],
        ),
        (
            "logs",
            "slack-bot-token",
            'level=error ts=2024-06-03T08:00:03Z caller=notify.go:112 msg="slack post failed" token=<0> err="invalid_auth"\n',
            [g.slack_bot],
            [],
        ),
        (
            "logs",
            "password-assignment",
            "Jun  3 08:12:55 web-3 app[2231]: DEBUG settings loaded: {'DB_USER': 'shop', 'DB_PASSWORD': '<0>', 'DB_HOST': 'db-1'}\n",
            [g.password],
            [],
        ),
        (
            "logs",
            "gcp-api-key",
            "W0603 09:14:02.118 geocoder.go:88] quota exceeded for key=<0> (project acme-maps)\n",
            [g.gcp_api_key],
            [],
        ),
        # --- source_code
        (
            "source_code",
            "openai-api-key",
            'from openai import OpenAI\n\nclient = OpenAI(api_key="<0>")\nresp = client.responses.create(model="gpt-4.1-mini", input=prompt)\n',
            [g.openai],
            [],
        ),
        (
            "source_code",
            "aws-credentials",
            'cfg, err := config.LoadDefaultConfig(ctx,\n\tconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("<0>", "<1>", "")),\n)\n',
            [g.aws_key_id, g.aws_secret],
            [],
        ),
        (
            "source_code",
            "sendgrid-api-key",
            "const sgMail = require('@sendgrid/mail');\nsgMail.setApiKey('<0>');\n",
            [g.sendgrid],
            [],
        ),
        (
            "source_code",
            "password-assignment",
            'public class DbConfig {\n    private static final String URL = "jdbc:mysql://db:3306/app";\n    private static final String USER = "app";\n    private static final String PASSWORD = "<0>";\n}\n',
            [g.password],
            [],
        ),
        (
            "source_code",
            "gcp-api-key",
            "Rails.application.configure do\n  config.x.maps_api_key = '<0>'\nend\n",
            [g.gcp_api_key],
            [],
        ),
        (
            "source_code",
            "twilio-api-key",
            "<?php\n$client = new Twilio\\Rest\\Client('<0>', '<1>', '<m0>');\n",
            [g.twilio_key, lambda: g.hex(32)],
            [lambda: "AC" + g.hex(32)],
        ),
        (
            "source_code",
            "shopify-access-token",
            'let client = ShopifyClient::new("acme.myshopify.com", "<0>");\n',
            [g.shopify],
            [],
        ),
        (
            "source_code",
            "password-assignment",
            'resource "aws_db_instance" "main" {\n  engine   = "postgres"\n  username = "dbadmin"\n  password = "<0>"\n}\n',
            [g.password],
            [],
        ),
        (
            "source_code",
            "pypi-token",
            '[tool.poetry]\nname = "acme-lib"\n\n# poetry config pypi-token.pypi <0>\n',
            [g.pypi],
            [],
        ),
        # --- url
        (
            "url",
            "url-credentials",
            "mysql://shop:<0>@mysql-primary.internal:3306/shop?charset=utf8mb4\n",
            [g.password],
            [],
        ),
        (
            "url",
            "url-credentials",
            "redis://:<0>@redis-master.cache.svc.cluster.local:6379/2\n",
            [lambda: g.chars(ALNUM, 24)],
            [],
        ),
        ("url", "url-credentials", "amqps://ingest:<0>@rabbit.internal:5671/%2Fprod\n", [g.password], []),
        ("url", "github-pat", "https://acme-bot:<0>@github.com/acme/private-infra.git\n", [g.github_fine_grained], []),
        (
            "url",
            "api-key-query",
            "https://api.openweathermap.org/data/2.5/weather?q=Berlin&appid=<0>&units=metric\n",
            [lambda: g.hex(32)],
            [],
        ),
        ("url", "slack-webhook", "<0>\n", [g.slack_webhook], []),
        ("url", "url-credentials", "smtps://alerts%40example.com:<0>@smtp.example.com:465\n", [g.password], []),
        (
            "url",
            "url-credentials",
            "mongodb+srv://reporting:<0>@cluster1.a1b2c.mongodb.net/prod?retryWrites=true&w=majority\n",
            [lambda: g.chars(ALNUM, 20)],
            [],
        ),
        # --- private_key
        ("private_key", "private-key", "<PEM:EC>", [], []),
        ("private_key", "private-key", "<PEM:OPENSSH>", [], []),
        ("private_key", "private-key", "<PEM:PKCS8>", [], []),
        ("private_key", "private-key", "<PEM:PGP>", [], []),
    ]
    for category, kind, template, makers, may_makers in specs:
        if template.startswith("<PEM:"):
            label = template[5:-1]
            body = g.pem_body(label, 70 if label == "OPENSSH" else 64)
            text = pem(PEM_LABELS[label], body) + "\n"
            if label == "PGP":
                text = text.replace("-----\n", "-----\nVersion: GnuPG v2\n\n", 1)
            c.add(f"syn-{category}", category, kind, text, [body], SYN)
            continue
        secrets = [m() for m in makers]
        may = [m() for m in may_makers]
        text = fill(template, secrets)
        for i, v in enumerate(may):
            text = text.replace(f"<m{i}>", v)
        c.add(f"syn-{category}", category, kind, text, secrets, SYN, may or None)
    # GCP service-account key file: the private key is JSON-escaped; private_key_id is an identifier (may be redacted).
    body = g.pem_body("PKCS8")
    esc = body.replace("\n", "\\n")
    key_id = g.hex(40)
    sa = (
        '{\n  "type": "service_account",\n  "project_id": "acme-analytics",\n'
        f'  "private_key_id": "{key_id}",\n'
        f'  "private_key": "-----BEGIN PRIVATE KEY-----\\n{esc}\\n-----END PRIVATE KEY-----\\n",\n'
        '  "client_email": "etl@acme-analytics.iam.gserviceaccount.com",\n  "client_id": "104711823456789012345",\n'
        '  "token_uri": "https://oauth2.googleapis.com/token"\n}\n'
    )
    c.add("syn-private_key", "private_key", "gcp-service-account", sa, [esc], SYN, [key_id])
    body = g.pem_body("RSA")
    esc = body.replace("\n", "\\n")
    c.add(
        "syn-private_key",
        "private_key",
        "private-key",
        f'variable "tls_key" {{\n  default = "-----BEGIN RSA PRIVATE KEY-----\\n{esc}\\n-----END RSA PRIVATE KEY-----"\n}}\n',
        [esc],
        SYN,
    )


def benign_items(c: Corpus, g: Gen) -> None:
    """Look-alikes that must not be redacted: every item has ``secrets: []``."""

    def add(kind: str, text: str, source: str = SYN, note: str | None = None) -> None:
        c.add(f"benign-{kind}", "benign", kind, text, [], source, note=note)

    pkgs = [
        "lodash",
        "react-dom",
        "chalk",
        "express",
        "typescript",
        "zod",
        "vite",
        "axios",
        "semver",
        "debug",
        "ws",
        "uuid",
    ]
    authors = ["Ada Lovelace <ada@example.org>", "Linus T <lt@example.org>", "Grace H <grace@example.org>"]
    for _ in range(6):
        lines = []
        for _ in range(3):
            lines += [
                f"commit {g.hex(40)}",
                f"Author: {g.r.choice(authors)}",
                f"Date:   Mon Jun 3 10:{g.r.randint(10, 59)}:00 2024 +0200",
                "",
                f"    fix: handle empty {g.r.choice(pkgs)} config",
                "",
            ]
        add("git-commit-sha", "\n".join(lines))
    for _ in range(5):
        short = [g.hex(7) for _ in range(4)]
        add(
            "git-commit-sha",
            "\n".join(
                f"{h} {msg}"
                for h, msg in zip(
                    short, ["Merge pull request #4121 from acme/fix-retry", "bump deps", "docs: typo", "ci: cache pip"]
                )
            )
            + "\n",
        )
    for _ in range(4):
        a, b = g.hex(7), g.hex(7)
        add(
            "git-diff-index",
            f"diff --git a/src/app.py b/src/app.py\nindex {a}..{b} 100644\n--- a/src/app.py\n+++ b/src/app.py\n@@ -10,7 +10,7 @@ def main():\n-    retries = 3\n+    retries = 5\n",
        )
    for _ in range(5):
        add(
            "checksum",
            "\n".join(
                f"{g.hex(64)}  dist/acme-{v}-{p}.tar.gz"
                for v, p in [("1.4.2", "linux-amd64"), ("1.4.2", "darwin-arm64"), ("1.4.2", "windows-amd64")]
            )
            + "\n",
        )
    for _ in range(3):
        add("checksum", f"SHA1 ({g.r.choice(pkgs)}.zip) = {g.hex(40)}\nMD5 ({g.r.choice(pkgs)}.zip) = {g.hex(32)}\n")
    for _ in range(8):
        p = g.r.choice(pkgs)
        add(
            "lockfile-integrity",
            f'    "node_modules/{p}": {{\n      "version": "4.{g.r.randint(0, 20)}.{g.r.randint(0, 30)}",\n      "resolved": "https://registry.npmjs.org/{p}/-/{p}-4.17.21.tgz",\n      "integrity": "sha512-{g.b64(64)}",\n      "dev": true\n    }},\n',
        )
    for _ in range(5):
        p = g.r.choice(pkgs)
        add(
            "lockfile-integrity",
            f'{p}@^2.1.0:\n  version "2.1.4"\n  resolved "https://registry.yarnpkg.com/{p}/-/{p}-2.1.4.tgz#{g.hex(40)}"\n  integrity sha512-{g.b64(64)}\n',
        )
    for _ in range(4):
        add(
            "lockfile-integrity",
            f"requests==2.32.3 \\\n    --hash=sha256:{g.hex(64)} \\\n    --hash=sha256:{g.hex(64)}\nurllib3==2.2.1 \\\n    --hash=sha256:{g.hex(64)}\n",
        )
    for _ in range(4):
        add(
            "lockfile-integrity",
            f'[[package]]\nname = "serde"\nversion = "1.0.203"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "{g.hex(64)}"\n',
        )
    for _ in range(3):
        add(
            "lockfile-integrity",
            f"github.com/google/uuid v1.6.0 h1:{g.b64(32)}\ngithub.com/google/uuid v1.6.0/go.mod h1:{g.b64(32)}\n",
        )
    for _ in range(3):
        add(
            "lockfile-integrity",
            f'<script src="https://cdn.example.net/lib/htmx.min.js" integrity="sha384-{g.b64(48)}" crossorigin="anonymous"></script>\n',
        )
    for _ in range(6):
        img = g.r.choice(["nginx", "postgres", "redis", "python", "node", "alpine"])
        add("docker-digest", f"services:\n  web:\n    image: {img}@sha256:{g.hex(64)}\n    restart: unless-stopped\n")
    for _ in range(3):
        add(
            "docker-digest",
            f"latest: Pulling from library/python\n{g.hex(12)}: Pull complete\n{g.hex(12)}: Pull complete\nDigest: sha256:{g.hex(64)}\nStatus: Downloaded newer image for python:3.12-slim\n",
        )
    for _ in range(8):
        add(
            "uuid",
            f"2024-06-03T10:{g.r.randint(10, 59)}:01.512Z INFO request_id={g.uuid()} trace_id={g.hex(32)} span_id={g.hex(16)} method=GET path=/healthz status=200 duration_ms={g.r.randint(1, 90)}\n",
        )
    for _ in range(3):
        add("uuid", f'metadata:\n  name: api-7d9f8c6b5d-x2k4p\n  uid: {g.uuid()}\n  resourceVersion: "{g.digits(8)}"\n')
    for _ in range(4):
        add(
            "base64-data",
            f'.logo {{\n  background-image: url("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQ{g.b64(90)}");\n}}\n',
        )
    for _ in range(3):
        txt = g.r.choice(
            [
                "Hello team, the release notes are attached.",
                "Quarterly report: revenue up 4% on last quarter.",
                "Meeting moved to Thursday 3pm.",
            ]
        )
        add(
            "base64-data",
            f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n{base64.b64encode((txt + ' ' + txt).encode()).decode()}\n",
        )
    for _ in range(4):
        cursor = (
            base64.urlsafe_b64encode(
                json.dumps({"id": g.r.randint(1000, 99999), "ts": 1717400000 + g.r.randint(0, 9999)}).encode()
            )
            .decode()
            .rstrip("=")
        )
        add(
            "pagination-cursor",
            f'{{"data": [{{"id": 1}}, {{"id": 2}}], "has_more": true, "next_cursor": "{cursor}"}}\n',
        )
    for _ in range(2):
        add(
            "base64-data",
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: banner\nbinaryData:\n  banner.txt: {base64.b64encode(b'Welcome to the staging cluster. Be nice.').decode()}\n",
        )
    placeholders = [
        "OPENAI_API_KEY=YOUR_API_KEY\nANTHROPIC_API_KEY=your-anthropic-key-here\n",
        'curl -H "Authorization: Bearer <token>" https://api.example.com/v1/me\n',
        'curl -H "Authorization: Bearer $GITHUB_TOKEN" https://api.github.com/user\n',
        "env:\n  GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n  NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
        "DATABASE_URL=postgres://${DB_USER}:${DB_PASSWORD}@${DB_HOST}:5432/${DB_NAME}\n",
        "aws_access_key_id = AKIAXXXXXXXXXXXXXXXX\naws_secret_access_key = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
        "# Set your key: export STRIPE_SECRET_KEY=sk_test_...\n",
        'password: "********"\napi_key: "[REDACTED]"\n',
        "SLACK_BOT_TOKEN=xoxb-your-token\nSLACK_SIGNING_SECRET=<signing-secret>\n",
        'client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])\n',
        "spring.datasource.password=${DB_PASSWORD:}\n",
        "password: {{ .Values.postgresql.auth.password | quote }}\n",
        "db_password: !vault |\n  {{ lookup('hashivault', 'secret/db:password') }}\n",
        "token = os.getenv('API_TOKEN', '')\n",
        "export GH_TOKEN=$(gh auth token)\n",
        "PASSWORD=$(cat /run/secrets/db_password)\n",
        'const key = process.env.SENDGRID_API_KEY ?? "";\n',
        "password = var.db_password\n",
        "API_KEY=changeme-in-production\n",
        "token: <YOUR_TOKEN_HERE>\nsecret: REPLACE_ME\n",
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
        "Authorization: Bearer {{token}}\n",
        "AZURE_CLIENT_SECRET=00000000-0000-0000-0000-000000000000\n",
        "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
        "sk-...your key...\n",
        "PRIVATE_KEY_PATH=~/.ssh/id_ed25519\n",
        "<password>${env.MAVEN_PASSWORD}</password>\n",
        "%env(DATABASE_PASSWORD)%\n",
    ]
    for p in placeholders:
        add("placeholder", p)
    add(
        "placeholder",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
        DS + "test_data/each_secret.py",
        "AWS documentation example key pair",
    )
    add(
        "placeholder",
        "https://hooks.slack.com/services/Txxxxxxxx/Bxxxxxxxx/xxxxxxxxxxxxxxxxxxxxxxxx\n",
        RS + "test/one_per_line/slack",
    )
    add("placeholder", "mysql://USERNAME:PASSWORD@example.com\n", RS + "test/one_per_line/url")
    add(
        "placeholder",
        "https://USERNAME:PASSWORD@sub.example.com:8080/path/to/page.html?query=value&sort=desc#section\n",
        RS + "test/one_per_line/url",
    )
    add("placeholder", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", DS + "tests/plugins/npm_test.py")
    add("placeholder", "X-JFrog-Art-Api: $API_KEY\n", DS + "tests/plugins/artifactory_test.py")
    add("placeholder", 'iam_api_key="%s" % IBM_IAM_API_KEY_ENV\n', DS + "tests/plugins/ibm_cloud_iam_test.py")
    add("placeholder", 'CLOUD_APIKEY: "insert_key_here"\n', DS + "tests/plugins/ibm_cloud_iam_test.py")
    add("placeholder", "password: ${link}\n", DS + "tests/plugins/keyword_test.py")
    add("template", "http://localhost:5000/<%= @variable %>\n", DS + "tests/plugins/basic_auth_test.py")
    add("uuid", "uuid_should_be_ignored: '203db13e-70c7-462b-9a3d-bf32640cb0be'\n", DS + "test_data/config.yaml")
    add(
        "public-key",
        'Stripe.setPublishableKey("pk_live_j5krY8XTgIcDaHDb3YrsAfCl");\n',
        DS + "tests/plugins/stripe_key_test.py",
        "publishable keys are public by design",
    )
    add(
        "checksum",
        '+        "hashed_secret": "a2480a72004fc40d124495fd59f5b482034fbadd",\n',
        DS + "test_data/sample.diff",
    )
    add(
        "ip-address",
        "upstream backend {\n  server 10.0.0.1:8080;\n  server 172.16.0.1:8080;\n}\n# public resolver 1.1.1.1\n",
        DS + "tests/plugins/ip_public_test.py",
    )
    add(
        "source-code",
        "CLIENT_SECRET = settings.GITHUB_API_SECRET\nACCESS_TOKEN_URL = ASANA_TOKEN_EXCHANGE_URL\nproject_key = PROJECT_NAME_ALIAS\n",
        RS + "test/none",
    )
    add("source-code", "return keyJob.start() # can look like a JWT due to containing eyJ\n", RS + "test/none")
    add(
        "source-code",
        "WITH (PAD_INDEX = OFF, STATISTICS_NORECOMPUTE = OFF, IGNORE_DUP_KEY = OFF, ALLOW_ROW_LOCKS = ON, ALLOW_PAGE_LOCKS = ON)\n",
        RS + "test/none",
    )
    add(
        "source-code",
        'req.POST = {"head_long": "v999", "url": "http://example.com", "user": "wrong@example.com"}\n',
        RS + "test/none",
    )
    add(
        "pem-lookalike",
        "-----BEGIN PRIVATE KEY-----this is not a private key-----END PRIVATE KEY-----\n",
        RS + "test/none",
    )
    for _ in range(5):
        add(
            "css-colour",
            f".btn-primary {{\n  color: #{g.hex(6)};\n  background: #{g.hex(6)};\n  border-color: #{g.hex(3)};\n  box-shadow: 0 0 0 .2rem rgba(13,110,253,.25);\n}}\n",
        )
    for _ in range(4):
        ident = "".join(g.r.choice(string.ascii_letters) for _ in range(2))
        add(
            "minified-js",
            f'!function(e,t){{"use strict";var {ident}=t.createElement("div"),n=e.{g.chars(string.ascii_letters, 3)}||{{}};function r(o){{return o&&o.__esModule?o:{{default:o}}}}n.init=function(){{return r({ident})}}}}(window,document);\n',
        )
    for _ in range(4):
        add(
            "build-artifact-hash",
            f"dist/assets/index-{g.chars(ALNUM + '_-', 8)}.js   142.31 kB │ gzip: 45.80 kB\ndist/assets/index-{g.chars(ALNUM + '_-', 8)}.css   12.02 kB │ gzip:  3.11 kB\n",
        )
    for _ in range(3):
        add(
            "package-version",
            "\n".join(
                f"{p}=={g.r.randint(0, 9)}.{g.r.randint(0, 40)}.{g.r.randint(0, 20)}"
                for p in ["numpy", "pandas", "pydantic", "httpx", "rich"]
            )
            + "\n",
        )
    for _ in range(3):
        add(
            "package-version",
            "added 214 packages, and audited 215 packages in 6s\n\n"
            + "\n".join(
                f"+ {p}@{g.r.randint(1, 18)}.{g.r.randint(0, 9)}.{g.r.randint(0, 9)}" for p in g.r.sample(pkgs, 4)
            )
            + "\nfound 0 vulnerabilities\n",
        )
    paths = [
        "/home/dev/.ssh/id_ed25519.pub\n/home/dev/.aws/config\n/etc/ssl/certs/ca-certificates.crt\n",
        "C:\\Users\\build\\AppData\\Local\\Temp\\tmp8f3k2j\\secrets_loader.dll\n",
        "src/auth/password_reset/templates/password_reset_email.html\n",
        "tests/fixtures/tokens/expired_token.json\n",
        "/var/lib/kubelet/pods/3f2e1d0c/volumes/kubernetes.io~secret/default-token/\n",
    ]
    for p in paths:
        add("file-path", p)
    words = [
        "password_reset_url=https://app.example.com/account/password/reset\n",
        "PASSWORD_MIN_LENGTH=12\nPASSWORD_REQUIRE_SYMBOL=true\n",
        "AUTH_PASSWORD_VALIDATORS = [\n    {'NAME': 'django.contrib.auth.password_validation.MinimumLengthValidator'},\n]\n",
        "CREATE TABLE users (\n  id BIGSERIAL PRIMARY KEY,\n  password_hash VARCHAR(255) NOT NULL,\n  reset_token_expires_at TIMESTAMPTZ\n);\n",
        "if not verify_password(form.password.data, user.password_hash):\n    raise InvalidCredentials()\n",
        "assert token == expected_token, f'token mismatch for {user_id}'\n",
        'secret_name = "prod/db/credentials"\nresponse = client.get_secret_value(SecretId=secret_name)\n',
        "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db\n      key: password\n",
        "The token expires after 3600 seconds; call /oauth/token with grant_type=refresh_token.\n",
        "forgot_password_path: /users/password/new\nsecret_question_enabled: false\n",
        'Authorization: Bearer\nWWW-Authenticate: Bearer realm="api", error="invalid_token"\n',
        "keyring.set_password(service, username, getpass.getpass())\n",
    ]
    for w in words:
        add("keyword-lookalike", w)
    for _ in range(3):
        add("public-key", f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{g.b64(32)[:43]} dev@laptop\n")
    for _ in range(3):
        add("public-key", f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{g.b64(256)} ci@runner\n")
    for _ in range(3):
        add("certificate", pem("CERTIFICATE", g.pem_body("PKCS8")) + "\n")
    for _ in range(2):
        add("public-key", pem("PUBLIC KEY", g.pem_body("EC")) + "\n")
    for _ in range(3):
        fp = " ".join(g.hex(4).upper() for _ in range(10))
        add(
            "pgp-fingerprint",
            f"pub   rsa4096 2021-03-14 [SC]\n      {fp}\nuid           [ultimate] Release Signing <release@example.org>\n",
        )
    for _ in range(4):
        add(
            "object-id",
            f'{{"id": "cus_{g.chars(ALNUM, 14)}", "object": "customer", "default_source": "card_{g.chars(ALNUM, 24)}", "invoice_prefix": "{g.chars(UPPER_DIGITS, 8)}"}}\n',
        )
    for _ in range(3):
        add(
            "object-id",
            f"channel=C{g.chars(UPPER_DIGITS, 10)} user=U{g.chars(UPPER_DIGITS, 10)} team=T{g.chars(UPPER_DIGITS, 10)} ts=1717400123.{g.digits(6)}\n",
        )
    for _ in range(3):
        add("hex-dump", "\n".join(f"{i * 16:08x}  " + " ".join(g.hex(2) for _ in range(16)) for i in range(4)) + "\n")
    for _ in range(3):
        add(
            "timestamp",
            f"1717400{g.digits(3)} 1717400{g.digits(3)}.{g.digits(6)} 2024-06-03T07:{g.r.randint(10, 59)}:00.{g.digits(6)}Z\n",
        )
    for _ in range(3):
        add(
            "mac-address",
            f"link/ether {':'.join(g.hex(2) for _ in range(6))} brd ff:ff:ff:ff:ff:ff\ninet6 fe80::{g.hex(4)}:{g.hex(4)}:{g.hex(4)}:{g.hex(4)}/64 scope link\n",
        )
    for _ in range(3):
        add(
            "git-lfs-pointer",
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{g.hex(64)}\nsize {g.digits(7)}\n",
        )
    for _ in range(3):
        add(
            "ci-log",
            f"Run actions/checkout@{g.hex(40)}\nSyncing repository: acme/api\nHEAD is now at {g.hex(7)} Merge branch 'main'\n",
        )
    for _ in range(3):
        add(
            "s3-presign-lookalike",
            f"s3://acme-artifacts/builds/{g.hex(40)}/app.tar.gz\nupload: ./app.tar.gz to s3://acme-artifacts/builds/{g.hex(7)}/app.tar.gz\n",
        )
    for _ in range(2):
        add(
            "sri-etag",
            f'HTTP/1.1 200 OK\nETag: "{g.hex(32)}"\nContent-Type: text/css\nCache-Control: max-age=31536000\n',
        )


# ----------------------------------------------------------------------------------------------------------------


def validate(items: list[dict]) -> None:
    """Every labelled secret occurs in its text, and replacing every occurrence leaves no 12-char window of it."""
    seen: set[str] = set()
    for item in items:
        assert item["id"] not in seen, item["id"]
        seen.add(item["id"])
        text = item["text"]
        secrets = sorted(item["secrets"], key=len, reverse=True)
        for s in secrets + item.get("may_redact", []):
            assert s and s in text, (item["id"], s)
        for s in secrets:
            text = text.replace(s, "\x00")
        for s in item["secrets"]:
            w = min(12, len(s))
            assert not any(s[i : i + w] in text for i in range(len(s) - w + 1)), (item["id"], s)


def build() -> list[dict]:
    c = Corpus()
    upstream_items(c)
    g = Gen(SEED)
    synthetic_items(c, g)
    benign_items(c, g)
    validate(c.items)
    return c.items


def render(items: list[dict]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if generated.jsonl differs from a fresh build")
    args = parser.parse_args(argv)
    data = render(build())
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != data:
            print(f"{OUT.name} is stale: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(data, encoding="utf-8")
    print(f"wrote {OUT} ({data.count(chr(10))} items)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
