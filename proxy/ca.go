package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// The CA's files in the data directory.
const (
	CACertFile = "hooklab-ca.pem"     // the certificate, 0644: give it to clients
	CAKeyFile  = "hooklab-ca-key.pem" // the private key, 0600: never leaves the directory
)

// Lifetimes of the certificates hooklab makes.
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 30 * 24 * time.Hour
	maxLeaves    = 4096 // leaf certificates kept in memory
)

// CA is hooklab's local certificate authority for HTTPS interception. Its
// key and certificate live in the data directory; leaf certificates for
// the hosts a client connects to are minted on demand (ECDSA P-256, one
// key shared by all leaves) and kept in memory. It is safe for concurrent
// use.
type CA struct {
	certPath string
	cert     *x509.Certificate
	certPEM  []byte
	key      *ecdsa.PrivateKey
	leafKey  *ecdsa.PrivateKey
	now      func() time.Time

	mu     sync.Mutex
	leaves map[string]*tls.Certificate
}

// LoadOrCreateCA loads the CA from dir, or creates one there the first
// time: the key with mode 0600, the certificate with 0644, the directory
// (when missing) with 0700. It refuses a key file that others can read.
func LoadOrCreateCA(dir string) (*CA, error) {
	if dir == "" {
		return nil, errors.New("CA: no data directory")
	}
	if err := inspect.MakeDataDir(dir); err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	for attempt := 0; ; attempt++ {
		ca, err := loadCA(certPath, keyPath)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return ca, err
		}
		if _, kerr := os.Stat(keyPath); kerr == nil {
			// Another hooklab is creating it: its certificate follows the key.
			if attempt > 20 {
				return nil, fmt.Errorf("CA: %s exists but %s does not; remove the key to make a new CA", keyPath, certPath)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		created, err := createCA(dir, certPath, keyPath)
		if err != nil {
			return nil, err
		}
		if created {
			return loadCA(certPath, keyPath)
		}
	}
}

// createCA writes a new CA. It reports false, without error, when another
// process created the key first.
func createCA(dir, certPath, keyPath string) (bool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return false, fmt.Errorf("CA: %w", err)
	}
	host, _ := os.Hostname()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			CommonName:         "hooklab local CA" + strings.TrimSuffix(" ("+host+")", " ()"),
			Organization:       []string{"hooklab"},
			OrganizationalUnit: []string{"HTTPS interception for local development; never share its key"},
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return false, fmt.Errorf("CA: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return false, fmt.Errorf("CA: %w", err)
	}
	// The key is written to a private temporary file and linked into place,
	// so it never exists with looser permissions and a concurrent start
	// cannot end up with two keys.
	tmp, err := os.CreateTemp(dir, ".hooklab-ca-key-*")
	if err != nil {
		return false, fmt.Errorf("CA: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return false, fmt.Errorf("CA: %w", err)
	}
	if err := errors.Join(pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), tmp.Sync(), tmp.Close()); err != nil {
		return false, fmt.Errorf("CA: write key: %w", err)
	}
	if err := os.Link(tmp.Name(), keyPath); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		// A file system without hard links: create the key in place.
		kf, cerr := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(cerr, fs.ErrExist) {
			return false, nil
		}
		if cerr != nil {
			return false, fmt.Errorf("CA: %w", cerr)
		}
		if err := errors.Join(pem.Encode(kf, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), kf.Sync(), kf.Close()); err != nil {
			os.Remove(keyPath)
			return false, fmt.Errorf("CA: write key: %w", err)
		}
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ctmp, err := os.CreateTemp(dir, ".hooklab-ca-*")
	if err != nil {
		return false, fmt.Errorf("CA: %w", err)
	}
	defer os.Remove(ctmp.Name())
	_, werr := ctmp.Write(certPEM)
	if err := errors.Join(werr, ctmp.Chmod(0o644), ctmp.Close()); err != nil {
		return false, fmt.Errorf("CA: write certificate: %w", err)
	}
	if err := os.Rename(ctmp.Name(), certPath); err != nil {
		return false, fmt.Errorf("CA: %w", err)
	}
	return true, nil
}

func loadCA(certPath, keyPath string) (*CA, error) {
	keyInfo, err := os.Stat(keyPath)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	if runtime.GOOS != "windows" && keyInfo.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("CA: the key %s can be read by others (mode %04o); run chmod 600 on it", keyPath, keyInfo.Mode().Perm())
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("CA: %s holds no PEM certificate", certPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CA: %s: %w", certPath, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, fmt.Errorf("CA: %s holds no PEM key", keyPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CA: %s: %w", keyPath, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("CA: %s does not match %s; remove both to make a new CA", keyPath, certPath)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("CA: %s is not a CA certificate", certPath)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	return &CA{
		certPath: certPath, cert: cert, certPEM: certPEM, key: key, leafKey: leafKey,
		now: time.Now, leaves: map[string]*tls.Certificate{},
	}, nil
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

// CertPath returns the path of the CA certificate (PEM).
func (c *CA) CertPath() string { return c.certPath }

// CertPEM returns the CA certificate in PEM form.
func (c *CA) CertPEM() []byte { return append([]byte(nil), c.certPEM...) }

// Certificate returns the parsed CA certificate.
func (c *CA) Certificate() *x509.Certificate { return c.cert }

// Fingerprint returns the SHA-256 fingerprint of the CA certificate, as
// colon-separated upper-case hex.
func (c *CA) Fingerprint() string {
	sum := sha256.Sum256(c.cert.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// TrustInstructions explains how to make clients trust the CA: Debian and
// Ubuntu, macOS, Firefox, curl, Go programs (SSL_CERT_FILE), Node and
// Python. proxy is the forward proxy's address the curl, Go and Node
// examples go through (127.0.0.1:8888 when "").
func (c *CA) TrustInstructions(proxy string) string {
	p := c.certPath
	if proxy == "" {
		proxy = "127.0.0.1:8888"
	}
	return fmt.Sprintf(`Trust hooklab's CA only on machines you develop on; anyone with its key can
impersonate any site to them. The key stays in %s.

  Debian/Ubuntu:  sudo cp %s /usr/local/share/ca-certificates/hooklab.crt && sudo update-ca-certificates
                  (undo: sudo rm /usr/local/share/ca-certificates/hooklab.crt && sudo update-ca-certificates --fresh)
  macOS:          sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain %s
                  (undo: sudo security delete-certificate -c "%s" /Library/Keychains/System.keychain)
  Firefox:        Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import,
                  choose %s and tick "Trust this CA to identify websites"
                  (or: certutil -A -d sql:$HOME/.mozilla/firefox/PROFILE -n hooklab -t C,, -i %s)
  curl:           curl --cacert %s -x http://%s https://example.com/
                  (or export CURL_CA_BUNDLE=%s)
  Go programs:    SSL_CERT_FILE=%s HTTPS_PROXY=http://%s go run .
                  (SSL_CERT_FILE replaces the system roots; to keep them, point it at a bundle:
                  cat /etc/ssl/certs/ca-certificates.crt %s > bundle.pem)
  Node:           NODE_EXTRA_CA_CERTS=%s HTTPS_PROXY=http://%s HTTP_PROXY=http://%s node app.js
                  (Node's fetch and https ignore the *_PROXY variables: in app.js, undici's
                  setGlobalDispatcher(new EnvHttpProxyAgent()), or Node 24+: NODE_USE_ENV_PROXY=1)
  Python:         REQUESTS_CA_BUNDLE=%s (requests), SSL_CERT_FILE=%s (urllib, httpx)

SHA-256 fingerprint: %s
`, filepath.Dir(p), p, p, c.cert.Subject.CommonName, p, p, p, proxy, p, p, proxy, p, p, proxy, proxy, p, p, c.Fingerprint())
}

// Leaf returns a certificate for host (a DNS name or an IP address), signed
// by the CA, minting it on first use and when the cached one is near its
// end.
func (c *CA) Leaf(host string) (*tls.Certificate, error) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return nil, errors.New("CA: no host name for the certificate")
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if cert := c.leaves[host]; cert != nil && now.Add(time.Hour).Before(cert.Leaf.NotAfter) {
		return cert, nil
	}
	notAfter := now.Add(leafLifetime)
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: host, Organization: []string{"hooklab"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &c.leafKey.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("CA: certificate for %s: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("CA: certificate for %s: %w", host, err)
	}
	cert := &tls.Certificate{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: c.leafKey, Leaf: leaf}
	if len(c.leaves) >= maxLeaves {
		for k := range c.leaves { // drop an arbitrary one; they are cheap to mint again
			delete(c.leaves, k)
			break
		}
	}
	c.leaves[host] = cert
	return cert, nil
}
