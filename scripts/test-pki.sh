#!/usr/bin/env bash
# Generates the certificates the secure-ICCP tests use, into DIR (created): a CA, this VCC
# (localhost / 127.0.0.1), partners A and B, partner A's certificate from another CA, an
# expired one, a revoked one and the CA's CRL listing it (ca.crl.pem, and DER; ca.crl0.pem is the
# CRL from before the revocation). Test material only: throwaway keys.
# Usage: scripts/test-pki.sh DIR
set -euo pipefail
dir=${1:?usage: test-pki.sh DIR}
mkdir -p "$dir"
cd "$dir"
export OPENSSL_CONF=/dev/null
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; }
mkca() {  # name cn
  key "$1"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -sha256 -out "$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  mkdir -p "$1.db"; : > "$1.db/index.txt"; echo 1000 > "$1.db/serial"; echo 1000 > "$1.db/crlnumber"
  cat > "$1.cnf" <<CNF
[ca]
default_ca = ca
[ca]
dir = $PWD/$1.db
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
certificate = $PWD/$1.pem
private_key = $PWD/$1.key
default_md = sha256
default_days = 365
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = copy
[any]
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = serverAuth, clientAuth
CNF
}
issue() {  # ca name cn [extra ca args...]
  local ca=$1 name=$2 cn=$3; shift 3
  key "$name"
  local san="DNS:$cn"
  [ "$cn" = localhost ] && san="DNS:localhost,IP:127.0.0.1"
  openssl req -new -key "$name.key" -subj "/CN=$cn" -addext "subjectAltName=$san" -out "$name.csr" 2>/dev/null
  openssl ca -batch -config "$ca.cnf" -extensions leaf -in "$name.csr" -out "$name.pem" -notext "$@" 2>/dev/null
  rm -f "$name.csr"
}
mkca ca "FreeTase2 Test CA"
mkca rogue-ca "Rogue CA"
issue ca vcc localhost
issue ca partner-a partner-a
issue ca partner-b partner-b
issue rogue-ca rogue partner-a
issue ca expired partner-a -startdate 20200101000000Z -enddate 20200102000000Z
issue ca revoked partner-a
openssl ca -config ca.cnf -gencrl -out ca.crl0.pem 2>/dev/null   # before the revocation: revokes nothing
openssl ca -config ca.cnf -revoke revoked.pem 2>/dev/null
openssl ca -config ca.cnf -gencrl -out ca.crl.pem 2>/dev/null
openssl ca -config ca.cnf -gencrl -out ca.crl.der 2>/dev/null && openssl crl -in ca.crl.der -outform DER -out ca.crl.der
for n in vcc partner-a partner-b rogue expired revoked; do
  openssl x509 -in "$n.pem" -noout -fingerprint -sha256 | sed 's/.*=//' > "$n.sha256"
done
