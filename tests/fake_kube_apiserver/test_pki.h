// A throw-away PKI for the fake API server: a CA, a server certificate for 127.0.0.1, ::1 and
// localhost, and a client certificate (kubeconfig client-cert auth), made with OpenSSL at run
// time (EC P-256, valid for one day) so no key material is committed.
#pragma once

#include <string>

namespace egressd::testing {

struct TestPki {
  std::string ca_cert_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
  std::string client_cert_pem;  // CN=egressd-test, signed by the CA
  std::string client_key_pem;
  std::string other_ca_cert_pem;  // an unrelated CA: a client trusting it must refuse the server

  static TestPki generate();
};

}  // namespace egressd::testing
