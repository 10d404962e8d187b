# Runs the Autobahn TestSuite's wstest (Python 2.7) with TLS stubbed: the
# fuzzing client against a ws:// server needs no TLS, and pyOpenSSL and
# cryptography need builds this machine cannot do (see README.md here).
import sys, types, unittest
sys.modules.setdefault("unittest2", unittest)  # only the serializer tests import it
import twisted.internet
fake = types.ModuleType('twisted.internet.ssl')
class _Stub(object):
    # Constructible (the fuzzing client makes a context factory for every
    # server), never used for ws:// servers.
    def __init__(self, *a, **k):
        pass

    def getContext(self):
        raise RuntimeError('TLS is stubbed out in this wstest: test ws:// servers')
for name in ('DefaultOpenSSLContextFactory', 'ClientContextFactory', 'CertificateOptions', 'optionsForClientTLS', 'Certificate', 'PrivateCertificate', 'KeyPair', 'ContextFactory'):
    setattr(fake, name, _Stub)
sys.modules['twisted.internet.ssl'] = fake
twisted.internet.ssl = fake
from autobahntestsuite import wstest
sys.exit(wstest.run())
