package urlcred

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestValues(t *testing.T) {
	tests := []struct {
		name, url string
		want      []string
	}{
		{"no credentials", "https://feeds.example/c2.txt?format=txt", nil},
		{"a password", "https://analyst:s3cr%40t@feeds.example/c2.txt", []string{"s3cr%40t", "s3cr@t"}},
		{"a user without a password", "https://analyst@feeds.example/c2.txt", nil},
		{"a plain user with an empty password", "https://svc-iocwatch:@feeds.example/c2.txt", nil},
		{"a key as the user", "https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1@feeds.example/list.txt", []string{"Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1"}},
		{"a key as the user, empty password", "https://sk_live_Kd8Wq1Ys5Hc4Gx2Zp3:@api.example/v1", []string{"sk_live_Kd8Wq1Ys5Hc4Gx2Zp3"}},
		{"a short key as the user", "https://Kd8Wq1Ys5Hc4@feeds.example/list.txt", []string{"Kd8Wq1Ys5Hc4"}},
		{"a percent-encoded user", "https://ak%2Bq29%3DZ@feeds.example/list.txt", []string{"ak%2Bq29%3DZ", "ak+q29=Z"}},
		{"a user that is a token of hex digits", "https://9f86d081884c7d65@feeds.example/list.txt", []string{"9f86d081884c7d65"}},
		{"credential-like parameters", "https://x.example/hook?sv=1.0&sig=abc%2Bdef&api_key=k1&Auth-Key=k2&code=c3",
			[]string{"abc%2Bdef", "abc+def", "k1", "k2", "c3"}},
		{"a plus in a query value", "https://x.example/?token=a+b", []string{"a+b", "a b"}},
		{"an empty value", "https://x.example/?token=", nil},
		{"words that contain a credential word", "http://x.example/iocs?keyword=cobalt&country_code=FR&monkey=1&tokenizer=ws&page_size=50", nil},
		{"a credential word among the parts", "http://x.example/iocs?keyword=cobalt&countryCode=FR&x-api-key=k1&page_token=p2", []string{"k1"}},
		{"a password's word at the end of a word", "http://x.example/db?dbpass=s3cret&user=ana", []string{"s3cret"}},
		{"attributes of credentials", "https://x.example/oauth?token_type=bearer&key_id=k7&auth_method=basic&key_file=client.pem&token_url=x", nil},
		// IntelX's k= and Baidu's ak= are hidden by their value's shape,
		// not by their names.
		{"an IntelX key", "https://2.intelx.example/phonebook/search?k=3f2b8c1e-9d4a-4e7b-b6a5-0c1d2e3f4a5b&term=x", []string{"3f2b8c1e-9d4a-4e7b-b6a5-0c1d2e3f4a5b"}},
		{"a Baidu ak", "http://api.map.baidu.example/geocoder/v2/?ak=E4805d16520de693a3fe707cdc962045&output=json", []string{"E4805d16520de693a3fe707cdc962045"}},
		{"a capitalised user", "https://Admin@feeds.example/c2.txt", nil},
		{"an upper-case user, empty password", "https://SOAR:@feeds.example/c2.txt", nil},
		{"not a URL", "feeds/c2.txt", nil},
		{"no scheme", "x.example/?key=k", nil},
		{"a token in the path", "https://feeds.example.com/api/v1/9f86d081884c7d659a2feaa0c55ad015/ip-blocklist.txt",
			[]string{"9f86d081884c7d659a2feaa0c55ad015"}},
		{"a percent-encoded token in the path", "https://feeds.example/k/Ak7Pq2Wm9Zx4%2BLr8Tn3Vb6Hc1Yd5Fg2Jk/ips",
			[]string{"Ak7Pq2Wm9Zx4%2BLr8Tn3Vb6Hc1Yd5Fg2Jk", "Ak7Pq2Wm9Zx4+Lr8Tn3Vb6Hc1Yd5Fg2Jk"}},
		{"a password, a path token and a query token", "https://cti:pw@feeds.example/Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1/x?id=Bq8Wn3Xm1Zc6Vr4Ty9&key=k1",
			[]string{"pw", "Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1", "Bq8Wn3Xm1Zc6Vr4Ty9", "k1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Values(tt.url); !slices.Equal(got, tt.want) {
				t.Errorf("Values(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestIsParam(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		// Credential words as a whole part of the name, split at '_',
		// '-', '.', other punctuation, camelCase and digits.
		{"key", true},
		{"KEY", true},
		{"keys", true},
		{"key2", true},
		{"api_key", true},
		{"apiKey", true},
		{"Auth-Key", true},
		{"auth-key", true},
		{"x-api-key", true},
		{"X-Api-Key", true},
		{"Ocp-Apim-Subscription-Key", true},
		{"private_key", true},
		{"token", true},
		{"access_token", true},
		{"accessToken", true},
		{"X-Auth-Token", true},
		{"X-Amz-Security-Token", true},
		{"oauth_token", true},
		{"secret", true},
		{"client_secret", true},
		{"clientSecret", true},
		{"password", true},
		{"Password", true},
		{"passWord", true},
		{"pass", true},
		{"passphrase", true},
		{"passwd", true},
		{"passw0rd", true},
		{"db_pwd", true},
		{"pwd", true},
		{"PWD", true},
		// A password's word at the end of a word (a database's, a user's,
		// an admin's) and its short forms.
		{"dbpass", true},
		{"userpass", true},
		{"adminpass", true},
		{"rootpass", true},
		{"smtp_pass", true},
		{"dbPass", true},
		{"dbpassword", true},
		{"dbpasswd", true},
		{"userpasswd", true},
		{"admin_passwd", true},
		{"pw", true},
		{"db_pw", true},
		{"rootpw", true},
		{"userPw", true},
		{"pswd", true},
		{"db_pswd", true},
		{"auth", true},
		{"Authorization", true},
		{"authentication", true},
		{"sig", true},
		{"SIG", true},
		{"signature", true},
		{"X-Amz-Signature", true},
		{"oauth_signature", true},
		{"credential", true},
		{"credentials", true},
		{"X-Amz-Credential", true},
		{"user[password]", true},
		{"auth[key]", true},
		{"user%5Bpassword%5D", true},
		{"user%5Bkey%5D", true},
		{"%74oken", true}, // token, percent-encoded
		{"%6Bey", true},
		// Known compounds written as one word.
		{"apikey", true},
		{"APIKey", true},
		{"ApiKey", true},
		{"authkey", true},
		{"accesskey", true},
		{"sharedaccesskey", true},
		{"subscriptionkey", true},
		{"passkey", true},
		{"accesstoken", true},
		{"authtoken", true},
		{"sastoken", true},
		{"clientsecret", true},
		{"hmacsig", true},
		{"oauth", true},
		{"userpassword", true},
		{"secretid", true},
		{"secret_id", true},
		{"SecretId", true}, // Tencent Cloud's, half of its key pair
		{"tokenids", true},
		{"token_id", true}, // OpenStack Keystone's token id is the token
		{"session_id", true},
		{"authorisation", true},
		// code: an OAuth or Azure Functions code alone, or one a word
		// other than a classification qualifies.
		{"code", true},
		{"Code", true},
		{"auth_code", true},
		{"authCode", true},
		{"authcode", true},
		{"authorization_code", true},
		{"access_code", true},
		{"code_verifier", true},
		{"passcode", true},
		{"promo_code", true},
		// A word ending in code is a credential unless what precedes code
		// says what the code is, as for a code after a word: Snort's and
		// Talos's oinkcode (a rule subscription's key, as suricata-update
		// and PulledPork send it), one-time and verification codes.
		{"oinkcode", true},
		{"verificationcode", true},
		{"otpcode", true},
		{"activationcode", true},
		{"devicecode", true},
		{"invitecode", true},
		{"one_time_code", true},
		{"oneTimeCode", true},
		// sign, the request signature of DingTalk's robot webhooks and
		// of Alibaba's and Tencent's APIs, when it ends the name.
		{"sign", true},
		{"Sign", true},
		{"app_sign", true},
		{"sign2", true},
		// Bearer tokens, MACs and session ids.
		{"jwt", true},
		{"JWT", true},
		{"bearer", true},
		{"bearer_token", true},
		{"hmac", true},
		{"X-Hmac", true},
		{"session", true},
		{"sessionid", true},
		{"session_id", true},
		{"sessionId", true},
		{"JSESSIONID", true},
		{"PHPSESSID", true},
		{"phpsessid", true},
		{"sessid", true},
		{"ASP.NET_SessionId", true},
		// Cloud storage and CDN signed URLs, webhooks and feeds.
		{"Signature", true},
		{"AWSAccessKeyId", true},
		{"X-Goog-Signature", true},
		{"X-Goog-Credential", true},
		{"x-amz-security-token", true},
		{"OSSAccessKeyId", true},
		{"security-token", true},
		{"q-signature", true},
		{"SharedAccessSignature", true},
		{"rlkey", true},
		{"tempauth", true},
		{"auth_key", true},
		{"access_token", true},
		{"id_token", true},
		{"refresh_token", true},
		{"private_token", true},
		{"license_key", true},
		{"routing_key", true},
		{"dd-api-key", true},
		{"x-functions-key", true},
		// An access key's id, half of a cloud key pair (AWS, Alibaba),
		// is hidden with it; another key's id is not.
		{"access_key_id", true},
		{"AccessKeyId", true},
		{"accesskeyid", true},
		// A token, key or secret that a word before qualifies as
		// something else stays one (a Facebook page's access token, a
		// Plaid public token that buys an access token).
		{"page_access_token", true},
		{"pageAccessToken", true},
		// An OAuth client's assertion (a signed JWT that stands for its
		// secret: Entra ID's certificate and workload identity
		// credentials send it as client_assertion), the JWT of a
		// jwt-bearer grant, and a SAML response (a signed assertion) are
		// bearer credentials; the assertion's type and a SAML request
		// are not.
		{"client_assertion", true},
		{"clientAssertion", true},
		{"assertion", true},
		{"saml_assertion", true},
		{"SAMLResponse", true},
		{"saml_response", true},
		{"SAMLResponse2", true},
		{"pageaccesstoken", true},
		{"public_token", true},
		{"primary_key", true},
		// A credential's word followed by a word that is not one of its
		// attributes, or by an attribute and then more.
		{"token_value", true},
		{"key_pem", true},
		{"password_hash", true},
		{"password_hint", true},
		{"key_file_contents", true},
		{"key_file_password", true},
		{"token_url_secret", true},
		{"url_token", true},
		{"file_key", true},
		{"sessions", true},
		// The credentials of the APIs and stores a threat-intel tool
		// meets, as they name them.
		{"X-OTX-API-KEY", true},
		{"x-apikey", true},
		{"X-Goog-Api-Key", true},
		{"X-Vault-Token", true},
		{"GenieKey", true},
		{"secret_key", true},
		{"encryption_key", true},
		{"master_key", true},
		{"keystore_pass", true},
		{"trustStorePassword", true},
		{"ssl.key.password", true},
		{"db_pass", true},
		{"pass_phrase", true},
		{"upass", true},
		{"mysql_pwd", true},
		{"aws_secret_access_key", true},
		{"aws_session_token", true},
		{"aws_access_key_id", true},
		{"keyid_secret", true},
		{"credential_id", true},
		// Not credentials: SAS's other fields, words that only contain a
		// credential word, classification codes.
		{"sv", false},
		{"skoid", false},
		{"sktid", false},
		{"ske", false},
		{"client_assertion_type", false},
		{"SAMLRequest", false},
		{"RelayState", false},
		{"response", false},
		{"state", false},
		{"passenger", false},
		{"passive", false},
		{"passport", false},
		{"passthrough", false},
		{"sp", false},
		{"se", false},
		{"sr", false},
		{"format", false},
		{"fmt", false},
		{"page", false},
		{"page_size", false},
		{"pageSize", false},
		{"id", false},
		{"since", false},
		{"api-version", false},
		{"keyword", false},
		{"keywords", false},
		{"Keyword", false},
		{"search_keyword", false},
		{"keyboard", false},
		{"monkey", false},
		{"monkeys", false},
		{"turkey", false},
		{"turkeys", false},
		{"smokey", false},
		{"hockey_team", false},
		{"tokenizer", false},
		{"author", false},
		{"authority", false},
		{"authuser", false},
		{"signal", false},
		{"signup", false},
		{"design", false},
		{"secretary", false},
		{"compass", false},
		{"bypass", false},
		{"country_code", false},
		{"countryCode", false},
		{"countrycode", false},
		{"country-code", false},
		{"country%5Fcode", false},
		{"language_code", false},
		{"currency_code", false},
		{"status_code", false},
		{"error_code", false},
		{"zipcode", false},
		{"postal_code", false},
		{"encode", false},
		{"unicode", false},
		{"barcode", false},
		{"codec", false},
		{"qrcode", false},
		{"qr_code", false},
		{"opcode", false},
		{"geocode", false},
		{"decode", false},
		{"transcode", false},
		{"shortcode", false},
		{"hash_code", false},
		{"source_code", false},
		{"postcode", false},
		{"languagecode", false},
		{"statuscode", false},
		{"countrycode%20", false},
		// sign that does not end the name names the signature's kind or
		// time, or another sign; signed headers are not a secret.
		{"sign_type", false},
		{"signType", false},
		{"q-sign-algorithm", false},
		{"sign_up", false},
		{"signin", false},
		{"signed", false},
		{"X-Amz-SignedHeaders", false},
		{"X-Goog-SignedHeaders", false},
		{"X-Amz-Algorithm", false},
		{"X-Amz-Date", false},
		{"X-Amz-Expires", false},
		{"GoogleAccessId", false},
		// An IOC, a rule's id, a public one-time value.
		{"hash", false},
		{"sid", false},
		{"nonce", false},
		// A key's id names the key, it is not the key (a JWT's kid, a
		// Google service account's private_key_id).
		{"key_id", false},
		{"keyId", false},
		{"KeyID", false},
		{"keyid", false},
		{"key_ids", false},
		{"keyIds", false},
		{"kid", false},
		{"private_key_id", false},
		{"signing_key_id", false},
		{"secret_key_id", false},
		{"apikeyid", false},
		{"api_key_id", false},
		// A public key is public.
		{"public_key", false},
		{"publicKey", false},
		{"PublicKey", false},
		{"publickey", false},
		{"public_keys", false},
		{"pubkey", false},
		{"pub_key", false},
		{"publishable_key", false},
		{"public_key_pem", false},
		// Pagination cursors: a page token, AWS's NextToken, OData's
		// $skiptoken and $deltatoken, Azure's continuation token.
		{"page_token", false},
		{"pageToken", false},
		{"PageToken", false},
		{"pagetoken", false},
		{"next_page_token", false},
		{"nextPageToken", false},
		{"nextpagetoken", false},
		{"NextToken", false},
		{"next_token", false},
		{"%24skiptoken", false},
		{"$skiptoken", false},
		{"$deltatoken", false},
		{"continuation_token", false},
		{"continuationToken", false},
		{"x-ms-continuation-token", false},
		{"pagination_token", false},
		// A name whose last word is an attribute of a credential names
		// that attribute: its type ("bearer"), method or scheme, its
		// file or path, its URL or endpoint, its name, size, algorithm,
		// version or lifetime.
		{"token_type", false},
		{"tokenType", false},
		{"key_type", false},
		{"auth_type", false},
		{"authType", false},
		{"auth_method", false},
		{"authMethod", false},
		{"auth_mode", false},
		{"auth_scheme", false},
		{"credential_type", false},
		{"key_file", false},
		{"keyfile", false},
		{"key_path", false},
		{"keypath", false},
		{"tls.key_file", false},
		{"keyFile", false},
		{"key_dir", false},
		{"token_file", false},
		{"password_file", false},
		{"credentials_file", false},
		{"token_url", false},
		{"tokenUrl", false},
		{"auth_url", false},
		{"auth_uri", false},
		{"token_uri", false},
		{"token_endpoint", false},
		{"authorization_endpoint", false},
		{"auth_provider_x509_cert_url", false},
		{"key_name", false},
		{"keyName", false},
		{"SharedAccessKeyName", false},
		{"secret_name", false},
		{"key_size", false},
		{"key_length", false},
		{"key_bits", false},
		{"key_algorithm", false},
		{"keyAlgorithm", false},
		{"key_version", false},
		{"SignatureMethod", false},
		{"SignatureVersion", false},
		{"session_timeout", false},
		{"sessionTimeout", false},
		{"token_ttl", false},
		{"token_lifetime", false},
		{"token_expiry", false},
		{"key_format", false},
		{"oauth_nonce", false},
		{"oauth_timestamp", false},
		{"oauth_signature_method", false},
		{"SignatureNonce", false},
		// A count of credentials, or a most or a least of them, is a
		// number (S3's max-keys, a session limit).
		{"sessions_count", false},
		{"session_count", false},
		{"token_count", false},
		{"keyCount", false},
		{"max_sessions", false},
		{"max-keys", false},
		{"MaxKeys", false},
		{"maxkeys", false},
		{"max_tokens", false},
		{"num_keys", false},
		{"min_sessions", false},
		{"total_tokens", false},
		{"count_token", true},
		{"admin_key", true},
		{"adminkey", true},
		{"max_key_secret", true},
		// Ordinary words that end in a credential's word.
		{"possession", false},
		{"possessions", false},
		{"dispossession", false},
		{"obsession", false},
		{"encompass", false},
		{"overpass", false},
		{"underpass", false},
		{"trespass", false},
		{"surpass", false},
		{"lowpass", false},
		// One-time and personal credentials: a one-time password (RFC
		// 4226's HOTP, RFC 6238's TOTP, Yubico's validation API sends a
		// YubiKey's as otp=), a PIN (PKCS#11's user and SO PIN, a key
		// store's or a private key's PIN), a SAML artifact (the
		// HTTP-Artifact binding's SAMLart, which the service provider
		// resolves into the assertion: a bearer credential), a CAS
		// service or proxy ticket (ticket=ST-…, exchanged once for the
		// user's identity) and an access id, the id half of an access
		// key pair under a short name (Sumo Logic's and LogicMonitor's
		// accessId, sent with the access key or its signature, as
		// AccessKeyId is).
		{"otp", true},
		{"OTP", true},
		{"totp", true},
		{"hotp", true},
		{"yubiotp", true},
		{"otp_value", true},
		{"pin", true},
		{"PIN", true},
		{"user_pin", true},
		{"so_pin", true},
		{"userPin", true},
		{"trust-store-pin", true},
		{"private_key_pin", true},
		{"SAMLart", true},
		{"samlart", true},
		{"saml_art", true},
		{"SAMLArtifact", true},
		{"saml_artifact", true},
		{"ticket", true},
		{"Ticket", true},
		{"service_ticket", true},
		{"serviceTicket", true},
		{"proxyTicket", true},
		{"tickets", true},
		{"access_id", true},
		{"accessId", true},
		{"AccessId", true},
		{"accessid", true},
		{"lm_access_id", true},
		{"SUMOLOGIC_ACCESSID", true},
		// Shopify's Multipass: a pass to log in with (its secret signs
		// the tokens a site sends to the store), named as a pass is.
		{"multipass", true},
		{"multipass_token", true},
		{"multipass_secret", true},
		// Their attributes, and words that only contain them: an OTP's
		// or a PIN's length or type, a certificate pin (RFC 7469's
		// pin-sha256, a hash of a public key), a helpdesk ticket's id or
		// number, Google's access id (a service account's e-mail in a
		// signed URL: GoogleAccessId), a SAML artifact's resolution
		// endpoint.
		{"otp_length", false},
		{"otp_type", false},
		{"pin_length", false},
		{"pin-sha256", false},
		{"pin_sha1", false},
		{"pins", false},
		{"spin", false},
		{"pinned", false},
		{"opinion", false},
		{"pinyin", false},
		{"ticket_id", false},
		{"ticketId", false},
		{"ticketid", false},
		{"ticket_number", false},
		{"ticketNumber", false},
		{"ticket_url", false},
		{"GoogleAccessId", false},
		{"googleaccessid", false},
		{"access_level", false},
		{"saml_artifact_resolution_url", false},
		// A name whose last word is whose credential it is (the account's
		// e-mail or user name: Cloudflare's X-Auth-Email beside its
		// X-Auth-Key, Swift's X-Auth-User), its policy (the rules a
		// password must meet), its state (OpenID Connect's
		// session_state: a salted hash of the client, the origin and the
		// provider's browser state, which the provider returns in the
		// redirect for the client's script to read; Keycloak sets it to
		// the session's sid, which its tokens carry in clear) or its
		// location (librdkafka's ssl.key.location: the key's file, as
		// key_file is) names that, not the credential.
		{"X-Auth-Email", false},
		{"auth_email", false},
		{"X-Auth-User", false},
		{"auth_username", false},
		// … but a credential's users are its accounts, each with its
		// password's hash (the Prometheus exporter toolkit's
		// basic_auth_users, Traefik's basicauth.users: name:$2y$…), as a
		// password's hash is hidden.
		{"basic_auth_users", true},
		{"basicauth.users", true},
		{"digestAuth.users", true},
		{"password_policy", false},
		{"passwordPolicy", false},
		{"token_policies", false},
		{"session_state", false},
		{"SessionState", false},
		{"ssl.key.location", false},
		{"ssl.keystore.location", false},
		{"key_location", false},
		// … but only as the last word.
		{"email_password", true},
		{"user_token", true},
		{"state_token", true},
		{"location_key", true},
		{"policy_secret", true},
		// Short names some APIs give their key (IntelX's k=, Baidu's
		// ak=) are not hidden by name: elsewhere they name other things
		// (k=10), and such keys (a UUID, 32 letters and digits) are
		// hidden by their shape (IsToken; see TestValues).
		{"k", false},
		{"ak", false},
		// Odd names: nothing but separators, escapes, other scripts.
		{"", false},
		{"_", false},
		{"-._[]", false},
		{"%", false},
		{"%zz", false},
		{"%5F%5F", false},
		{"\xff\xfe", false},
		{"ключ", false},
		{"鍵", false},
	}
	for _, tt := range tests {
		if got := IsParam(tt.name); got != tt.want {
			t.Errorf("IsParam(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzIsParam checks that IsParam takes any name without panicking and
// reads it percent-decoded once, as a URL's query is read: the name it
// stands for, percent-encoded as a URL may write it (api%5Bkey%5D, or
// every byte escaped: %6B%65%79), gets the same answer as the name as
// written (key, %6Bey), and a name that does not decode (%zz) is read as
// written.
func FuzzIsParam(f *testing.F) {
	for _, s := range []string{"", "key", "api_key", "country%5Fcode", "oinkcode", "sign", "%", "%zz", "%6Bey", "%256Bey", "_", "\xff", "ключ", "aB1cD2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		dec, err := url.QueryUnescape(name)
		if err != nil {
			dec = name
		}
		want := IsParam(name)
		for _, enc := range []string{url.QueryEscape(dec), escapeEveryByte(dec)} {
			if got := IsParam(enc); got != want {
				t.Errorf("IsParam(%q) = %v, but IsParam(%q) = %v", name, want, enc, got)
			}
		}
	})
}

// escapeEveryByte percent-encodes every byte of s.
func escapeEveryByte(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func TestRedact(t *testing.T) {
	tests := []struct{ name, url, want string }{
		{"a password and a key=", "https://analyst:s3cret@feeds.example/c2.txt?format=txt&auth-key=k1", "https://analyst:[x]@feeds.example/c2.txt?format=txt&auth-key=[x]"},
		{"nothing to hide", "https://feeds.example/c2.txt", "https://feeds.example/c2.txt"},
		{"a plain user without a password", "https://soar@feeds.example/c2.txt", "https://soar@feeds.example/c2.txt"},
		{"a capitalised user without a password", "https://Admin@feeds.example/c2.txt", "https://Admin@feeds.example/c2.txt"},
		{"words that contain a credential word", "http://feeds.example/iocs?keyword=cobalt&country_code=FR&key=k1",
			"http://feeds.example/iocs?keyword=cobalt&country_code=FR&key=[x]"},
		{"a page token and a database password", "https://api.example/iocs?page_token=abc&dbpass=s3cret&nextPageToken=def",
			"https://api.example/iocs?page_token=abc&dbpass=[x]&nextPageToken=def"},
		{"a signed robot webhook", "https://robot.example/robot/send?access_token=k1&timestamp=1700000000000&sign=s1%3D",
			"https://robot.example/robot/send?access_token=[x]&timestamp=1700000000000&sign=[x]"},
		{"a rule subscription's oinkcode", "https://rules.example/rules/snortrules-snapshot-31470.tar.gz?oinkcode=c0ffee",
			"https://rules.example/rules/snortrules-snapshot-31470.tar.gz?oinkcode=[x]"},
		{"a CAS service ticket", "https://soar.example/login/cas?ticket=ST-1-Qx7L&lang=en",
			"https://soar.example/login/cas?ticket=[x]&lang=en"},
		{"a SAML artifact", "https://soar.example/saml/acs?SAMLart=AAQAAMh48&RelayState=r1",
			"https://soar.example/saml/acs?SAMLart=[x]&RelayState=r1"},
		{"a one-time password and a PIN", "https://otp.example/wsapi/2.0/verify?id=1&otp=cccjgjgkhcbb&nonce=n1&pin=1234",
			"https://otp.example/wsapi/2.0/verify?id=1&otp=[x]&nonce=n1&pin=[x]"},
		{"an access id and key", "https://api.example/v1?access_id=su4Kd8Wq&access_key=k1",
			"https://api.example/v1?access_id=[x]&access_key=[x]"},
		{"an OpenID Connect session state and a ticket's number", "https://soar.example/cb?code=c1&state=s1&session_state=ab12.cd&ticket_id=INC0012345",
			"https://soar.example/cb?code=[x]&state=s1&session_state=ab12.cd&ticket_id=INC0012345"},
		{"an account's e-mail beside its key", "https://api.example/zones?X-Auth-Email=soc%40corp.example&X-Auth-Key=k1",
			"https://api.example/zones?X-Auth-Email=soc%40corp.example&X-Auth-Key=[x]"},
		{"16 capitals as the user", "https://QWERTZUIOPASDFGH@feeds.example/list.txt", "https://[x]@feeds.example/list.txt"},
		{"a key as the user", "https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1@feeds.example.com/list.txt", "https://[x]@feeds.example.com/list.txt"},
		{"a key as the user, empty password", "https://sk_live_Kd8Wq1Ys5Hc4Gx2Zp3:@api.example/v1?fmt=csv", "https://[x]:[x]@api.example/v1?fmt=csv"},
		{"a short key as the user", "https://Kd8Wq1Ys5Hc4@feeds.example/list.txt", "https://[x]@feeds.example/list.txt"},
		{"a key as the user and in the query", "https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1@feeds.example/list.txt?key=k1", "https://[x]@feeds.example/list.txt?key=[x]"},
		{"a percent-encoded user", "https://ak%2Bq29%3DZ@feeds.example/list.txt", "https://[x]@feeds.example/list.txt"},
		{"not a URL", "feeds/c2.txt?key=k", "feeds/c2.txt?key=k"},
		{"a hex key in the path", "https://feeds.example.com/api/v1/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c/ip-blocklist.txt",
			"https://feeds.example.com/api/v1/[x]/ip-blocklist.txt"},
		{"an abuse.ch auth key in the path", "https://threatfox-api.abuse.ch/v2/files/exports/Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1/full.csv.zip",
			"https://threatfox-api.abuse.ch/v2/files/exports/[x]/full.csv.zip"},
		{"a token as the file name", "https://feeds.example/d/Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1.txt", "https://feeds.example/d/[x]"},
		{"a UUID key", "https://intel.example/feed/3f2b8c1e-9d4a-4e7b-b6a5-0c1d2e3f4a5b/ips", "https://intel.example/feed/[x]/ips"},
		{"a percent-encoded token", "https://feeds.example/k/Ak7Pq2Wm9Zx4%2BLr8Tn3Vb6Hc1Yd5Fg2Jk/ips", "https://feeds.example/k/[x]/ips"},
		{"a token, a password and a key=", "https://cti:pw@feeds.example/Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1/x?fmt=csv&key=k1#top",
			"https://cti:[x]@feeds.example/[x]/x?fmt=csv&key=[x]#top"},
		{"a token as a query value", "https://feeds.example/ips?id=Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1&fmt=csv", "https://feeds.example/ips?id=[x]&fmt=csv"},
		{"file names and words", "https://raw.example/firehol/blocklist-ipsets/master/firehol_level1.netset",
			"https://raw.example/firehol/blocklist-ipsets/master/firehol_level1.netset"},
		{"long names without digits", "https://feodotracker.abuse.ch/downloads/ipblocklist_recommended.txt",
			"https://feodotracker.abuse.ch/downloads/ipblocklist_recommended.txt"},
		{"a percent-encoded space before a word", "https://feeds.example/lists/my%20blocklistrecommended2024.txt",
			"https://feeds.example/lists/my%20blocklistrecommended2024.txt"},
		{"dates", "https://feeds.example/2024-06-30/iocs-20240630.csv?since=2024-06-30T00:00:00Z",
			"https://feeds.example/2024-06-30/iocs-20240630.csv?since=2024-06-30T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.url, "[x]")
			if got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.url, got, tt.want)
			}
			// Nothing Values lists is shown.
			for _, v := range Values(tt.url) {
				if strings.Contains(got, v) {
					t.Errorf("Redact(%q) = %q shows %q", tt.url, got, v)
				}
			}
		})
	}
}

func TestIsToken(t *testing.T) {
	for s, want := range map[string]bool{
		"9f86d081884c7d659a2feaa0c55ad015":     true,  // hex
		"Ak7Pq2Wm9Zx4Lr8T":                     true,  // 16 letters and digits, mixed
		"Ak7Pq2Wm9Zx4Lr8":                      false, // 15
		"1234567890123456":                     true,  // digits alone
		"blocklistrecommended2024":             false, // a word and a number
		"2024blocklistrecommended":             false,
		"AbcdefghijklmnopqrstuvwxyzAbcde1":     true,  // 32
		"discordTok-Kd8Wq1Ys5Hc4Gx2Zp3":        true,  // a run of 18 after a word
		"Ak7Pq2Wm9_x4Lr8Tn-Vb6Hc1Yd5Fg2Jk4Ms7": true,  // 32+ base64url, runs cut short by '-' and '_'
		"Ak7Pq2Wm9+x4Lr8Tn/Vb6Hc1Yd5Fg2Jk4M==": true,  // 32+ base64
		"Ak7Pq2Wm9+x4Lr8Tn/Vb6Hc1Yd5Fg2J":      false, // 31
		"AbcdefghijklmnopqrstuvwxyzAbcdefgh":   true,  // a run of 32 letters
		"3f2b8c1e-9d4a-4e7b-b6a5-0c1d2e3f4a5b": true,  // a UUID
		"3F2B8C1E-9D4A-4E7B-B6A5-0C1D2E3F4A5B": true,
		"ipblocklist_recommended.txt":          false,
		"firehol_level1.netset":                false,
		"ThreatFoxIOCsRecentExport.json":       false, // 25 letters, no digit
		"iocs-20240630.csv":                    false,
		"threatfox2024export.csv":              true,  // a file name with a mixed run (docs/configuration.md)
		"AbCdEfGhIjKlMnOpQrStUv":               false, // letters alone, under 32 (docs/security.md)
		"2024-06-30T00:00:00Z":                 false,
		"v1":                                   false,
		"":                                     false,
		"[redacted]":                           false,
	} {
		if got := IsToken(s); got != want {
			t.Errorf("IsToken(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestUserIsKey(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		// Keys: tokens, and names that are not words.
		{"https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1@x.example/", true},                       // a token
		{"https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1:@x.example/", true},                      // an empty password, as curl -u key: writes it
		{"https://sk_live_Kd8Wq1Ys5Hc4Gx2Zp3:@x.example/", true},                    // a token after words
		{"https://UserKey-Jq4Wz8Xc2Vb6Nm1@x.example/", true},                        // a token after a word
		{"https://Kd8Wq1Ys5Hc4@x.example/", true},                                   // mixed case and digits
		{"https://AK7PQ2WM9ZX4@x.example/", true},                                   // upper case, digits among the letters
		{"https://AbCdEfGhIjKl@x.example/", true},                                   // mixed case within a word
		{"https://A1234567890123@x.example/", true},                                 // more than 4 digits after a word
		{"https://ABCD-EFGH-IJKL@x.example/", true},                                 // groups of capitals
		{"https://ak%2Bq29%3DZ@x.example/", true},                                   // '+' and '='
		{"https://9f86d081884c7d65@x.example/", true},                               // a plain word, but a token
		{"https://9F86D081884C7D65@x.example/", true},                               // the same in capitals
		{"https://abcdefghijklmnopq@x.example/", true},                              // over 16 characters
		{"https://Administrators-Group@x.example/", true},                           // over 16 characters
		{"https://first.last%40corp.example@x.example/", true},                      // not a plain word once decoded
		{"https://d2ViaG9vay1rZXk=@x.example/", true},                               // base64
		{"https://3f2b8c1e-9d4a-4e7b-b6a5-0c1d2e3f4a5b@x.example/", true},           // a UUID
		{"https://3F2B8C1E-9D4A-4E7B-B6A5-0C1D2E3F4A5B@x.example/", true},           // a UUID in capitals
		{"https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1Yd5Fg2Jk4Ms7Ak7Pq2Wm9Z@x.example/", true}, // a long token
		{"https://QWERTZUIOPASDFGH@x.example/", true},                               // 16 capitals, a key of letters alone
		{"https://QWERTZUIOPASDFGH:@x.example/", true},                              // the same, empty password
		{"https://XKQWPZRTMNBV@x.example/", true},                                   // 12 capitals
		{"https://XKQWPZRTM@x.example/", true},                                      // 9 capitals
		{"https://XKQWPZRTMNBV1234@x.example/", true},                               // capitals and 4 digits
		{"https://XKQWPZRTMNB-soar@x.example/", true},                               // capitals and a word
		{"https://ADMINISTRATOR@x.example/", true},                                  // a word, but over 8 capitals
		{"https://%C3%84dmin@x.example/", true},                                     // not ASCII
		// User names: words, lower case, capitalised or in capitals.
		{"https://soar@x.example/", false},
		{"https://svc-iocwatch@x.example/", false},
		{"https://svc-iocwatch:@x.example/", false},
		{"https://first.last@x.example/", false},
		{"https://Admin@x.example/", false},
		{"https://Admin:@x.example/", false},
		{"https://SOAR@x.example/", false},
		{"https://Administrator@x.example/", false},
		{"https://First.Last@x.example/", false},
		{"https://SOC-Analyst@x.example/", false},
		{"https://Svc_Iocwatch2@x.example/", false},
		{"https://SOAR-2024@x.example/", false},
		{"https://J.Smith@x.example/", false},
		{"https://ADMIN@x.example/", false},
		{"https://IOCWATCH@x.example/", false}, // 8 capitals
		{"https://IOCWATCH-2024@x.example/", false},
		{"https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1:pw@x.example/", false}, // the password is the credential
		{"https://x.example/", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := UserIsKey(u.User); got != tt.want {
			t.Errorf("UserIsKey(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestEchoes(t *testing.T) {
	got := Echoes("https://soar:pw@x.example/hook?sig=s1")
	want := []string{"pw", "s1", BasicAuth("soar", "pw")}
	if !slices.Equal(got, want) {
		t.Errorf("Echoes = %q, want %q", got, want)
	}
	if BasicAuth("soar", "pw") != "c29hcjpwdw==" {
		t.Errorf("BasicAuth = %q", BasicAuth("soar", "pw"))
	}
	if got := Echoes("https://x.example/?format=txt"); got != nil {
		t.Errorf("Echoes of a URL without credentials = %q", got)
	}
	// A key as the user: Go's client sends it as basic authentication
	// with an empty password.
	for _, s := range []string{"https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1@x.example/list.txt", "https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1:@x.example/list.txt"} {
		got = Echoes(s)
		want = []string{"Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1", BasicAuth("Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1", "")}
		if !slices.Equal(got, want) {
			t.Errorf("Echoes(%q) = %q, want %q", s, got, want)
		}
	}
	for _, s := range []string{"https://soar@x.example/", "https://Admin@x.example/", "https://SOAR:@x.example/"} {
		if got := Echoes(s); got != nil {
			t.Errorf("Echoes(%q) of a plain user name = %q", s, got)
		}
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct{ name, url, want string }{
		{"slack", "https://hooks.slack.com/services/T0001AAAA/B0002BBBB/slackSecretXq7Lm2Vb9Rt4", "https://hooks.slack.com/services/…"},
		{"teams", "https://contoso.webhook.office.com/webhookb2/1111-2222@3333-4444/IncomingWebhook/0123456789abcdef0123456789abcdef/aaaa-bbbb",
			"https://contoso.webhook.office.com/webhookb2/…"},
		{"power automate", "https://prod-01.westeurope.logic.azure.com:443/workflows/0123abcd/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=LogicSig",
			"https://prod-01.westeurope.logic.azure.com:443/workflows/…?…"},
		{"power platform", "https://default1234.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=S",
			"https://default1234.environment.api.powerplatform.com:443/powerautomate/…?…"},
		{"discord", "https://discord.com/api/webhooks/112233445566778899/discordTok-Kd8Wq1Ys5Hc4Gx2Zp3", "https://discord.com/api/…"},
		{"a token in the first segment", "https://api.telegram.org/bot123456:AAH-telegramTok/sendMessage", "https://api.telegram.org/…"},
		{"an upper-case first segment", "https://x.example/AbCdEf/more", "https://x.example/…"},
		{"a first segment over 16 characters", "https://x.example/abcdefghijklmnopq/more", "https://x.example/…"},
		{"a first segment of 16 characters", "https://x.example/abcdefghijklmnop/more", "https://x.example/abcdefghijklmnop/…"},
		{"a first segment that is a token", "https://x.example/9f86d081884c7d65/more", "https://x.example/…"},
		{"a percent-encoded first segment", "https://x.example/a%2Fb/more", "https://x.example/…"},
		{"one segment", "https://soar.example/alerts", "https://soar.example/…"},
		{"one segment and a slash", "https://soar.example/api/", "https://soar.example/api/"},
		{"an empty first segment", "https://soar.example//alerts", "https://soar.example/…"},
		{"a token in the query", "https://soar.example/api/alerts?format=json&token=QueryTok", "https://soar.example/api/…?…"},
		{"a query alone", "https://soar.example?key=k", "https://soar.example?…"},
		{"user info and a fragment", "https://soar:pw@soar.example/#frag", "https://soar.example/"},
		{"a key as the user", "https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1@soar.example/api/alerts", "https://soar.example/api/…"},
		{"a host alone", "https://soar.example", "https://soar.example"},
		{"a port and a slash", "http://127.0.0.1:8088/", "http://127.0.0.1:8088/"},
		{"HEC's event path", "https://splunk.example:8088/services/collector/event", "https://splunk.example:8088/services/collector/event"},
		{"HEC's ack path", "https://splunk.example:8088/services/collector/ack", "https://splunk.example:8088/services/collector/ack"},
		{"HEC's raw path with a version", "https://splunk.example:8088/services/collector/raw/1.0", "https://splunk.example:8088/services/collector/raw/1.0"},
		{"HEC's MINT path", "https://splunk.example:8088/services/collector/mint", "https://splunk.example:8088/services/collector/mint"},
		{"HEC's MINT path with a version", "https://splunk.example:8088/services/collector/mint/1.0", "https://splunk.example:8088/services/collector/mint/1.0"},
		{"HEC's S2S path", "https://splunk.example:8088/services/collector/s2s", "https://splunk.example:8088/services/collector/s2s"},
		{"HEC's S2S path and a slash", "https://splunk.example:8088/services/collector/s2s/", "https://splunk.example:8088/services/collector/s2s/"},
		{"HEC's health path with a version", "https://splunk.example:8088/services/collector/health/1.0", "https://splunk.example:8088/services/collector/health/1.0"},
		{"more after HEC's S2S path", "https://gw.example/services/collector/s2s/Tok-Sd8Ja5Hu3Fk2", "https://gw.example/services/…"},
		{"HEC behind a secret prefix", "https://gw.example/Tok-Sd8Ja5Hu3Fk2/services/collector/event", "https://gw.example/…"},
		{"HEC behind a word and a secret", "https://gw.example/splunk/Tok-Sd8Ja5Hu3Fk2/services/collector/event", "https://gw.example/splunk/…"},
		{"more after HEC's path", "https://gw.example/services/collector/event/Tok-Sd8Ja5Hu3Fk2", "https://gw.example/services/…"},
		{"already shown", "https://hooks.slack.com/services/…", "https://hooks.slack.com/services/…"},
		{"already shown with a query", "https://x.example/workflows/…?…", "https://x.example/workflows/…?…"},
		{"not a URL, with a path", "hooks.slack.com/services/T0/B0/secret", "…"},
		{"not a URL, with a password", "user:pw@host", "…"},
		{"not a URL, a word", "stdout", "stdout"},
		{"unparsable", "https://hooks.slack.com/services/secret%zz", "…"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Endpoint(tt.url)
			if got != tt.want {
				t.Errorf("Endpoint(%q) = %q, want %q", tt.url, got, tt.want)
			}
			if again := Endpoint(got); again != got {
				t.Errorf("Endpoint(%q) = %q, not the same again", got, again)
			}
		})
	}
}

func TestHidden(t *testing.T) {
	tests := []struct {
		name, url string
		want      []string
	}{
		{"slack", "https://hooks.slack.com/services/T0001AAAA/B0002BBBB/slackSecretXq7Lm2Vb9Rt4",
			[]string{"slackSecretXq7Lm2Vb9Rt4", "T0001AAAA/B0002BBBB/slackSecretXq7Lm2Vb9Rt4"}},
		{"discord", "https://discord.com/api/webhooks/112233445566778899/discordTok-Kd8Wq1Ys5Hc4Gx2Zp3",
			[]string{"112233445566778899", "discordTok-Kd8Wq1Ys5Hc4Gx2Zp3", "webhooks/112233445566778899/discordTok-Kd8Wq1Ys5Hc4Gx2Zp3"}},
		{"a percent-encoded token", "https://x.example/hooks/tok%2Fen-Ab3Cd4Ef5Gh6Ij7",
			[]string{"tok%2Fen-Ab3Cd4Ef5Gh6Ij7", "tok/en-Ab3Cd4Ef5Gh6Ij7", "en-Ab3Cd4Ef5Gh6Ij7"}},
		{"a logic app", "https://x.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sig=LogicSig-Rb7Vn3Lq9Pw1",
			[]string{"LogicSig-Rb7Vn3Lq9Pw1", "abc/triggers/manual/paths/invoke",
				"api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sig=LogicSig-Rb7Vn3Lq9Pw1",
				"api-version=2016-06-01&sp=/triggers/manual/run&sig=LogicSig-Rb7Vn3Lq9Pw1",
				"%2Ftriggers%2Fmanual%2Frun", "/triggers/manual/run"}},
		{"a password and an unnamed query token", "https://soar:pw-Qx7L@soar.example/x?t=TokenWithoutName-12345",
			[]string{"pw-Qx7L", BasicAuth("soar", "pw-Qx7L"), "t=TokenWithoutName-12345", "TokenWithoutName-12345"}},
		{"a key as the user", "https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1@soar.example/api/alerts",
			[]string{"Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1", BasicAuth("Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1", "")}},
		{"a plain user", "https://soar@soar.example/api/alerts", nil},
		{"a token as the first segment", "https://x.example/9f86d081884c7d65/more",
			[]string{"9f86d081884c7d65", "9f86d081884c7d65/more"}},
		{"short words only", "https://soar.example/api/v1/alerts", nil},
		{"HEC", "https://splunk.example:8088/services/collector/event", nil},
		{"a host alone", "https://soar.example", nil},
		{"not a URL", "hooks.slack.com/services/T0/B0/slackSecretXq7Lm2Vb9Rt4", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Hidden(tt.url)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Hidden(%q) = %q, want %q", tt.url, got, tt.want)
			}
			// Nothing Hidden lists is shown by Endpoint.
			shown := Endpoint(tt.url)
			for _, h := range got {
				if strings.Contains(shown, h) {
					t.Errorf("Endpoint(%q) = %q shows %q", tt.url, shown, h)
				}
			}
		})
	}
}

func TestPeerEchoes(t *testing.T) {
	tests := []struct {
		name, url string
		want      []string // besides Hidden(url)
	}{
		{"a short token after a word", "https://soar.example/hooks/Xk29sLq",
			[]string{"/hooks/Xk29sLq", `\/hooks\/Xk29sLq`, "hooks/Xk29sLq", `hooks\/Xk29sLq`}},
		{"a short token alone", "https://soar.example/Xk29sLq4", []string{"/Xk29sLq4", `\/Xk29sLq4`, "Xk29sLq4"}},
		{"a plain word alone", "https://soar.example/alerts", []string{"/alerts", `\/alerts`}},
		{"a percent-encoded token", "https://soar.example/hooks/Xk%2F9sLq",
			[]string{"/hooks/Xk%2F9sLq", `\/hooks\/Xk%2F9sLq`, "hooks/Xk%2F9sLq", `hooks\/Xk%2F9sLq`,
				"/hooks/Xk/9sLq", `\/hooks\/Xk\/9sLq`, "hooks/Xk/9sLq", `hooks\/Xk\/9sLq`}},
		{"slack", "https://hooks.slack.com/services/T0001AAAA/B0002BBBB/slackSecretXq7Lm2Vb9Rt4",
			[]string{"/services/T0001AAAA/B0002BBBB/slackSecretXq7Lm2Vb9Rt4", `\/services\/T0001AAAA\/B0002BBBB\/slackSecretXq7Lm2Vb9Rt4`,
				"services/T0001AAAA/B0002BBBB/slackSecretXq7Lm2Vb9Rt4", `services\/T0001AAAA\/B0002BBBB\/slackSecretXq7Lm2Vb9Rt4`}},
		{"a short query", "https://soar.example/api/?t=Xk29", []string{"/api/?t=Xk29", "t=Xk29"}},
		{"a short path and query", "https://soar.example/a/b?t=Xk29", []string{"/a/b", `\/a\/b`, "a/b", `a\/b`, "/a/b?t=Xk29", "t=Xk29"}},
		{"a query alone", "https://soar.example?t=Xk29", []string{"/?t=Xk29", "t=Xk29"}},
		{"HEC", "https://splunk.example:8088/services/collector/event", nil},
		{"a path shown whole", "https://soar.example/api/", nil},
		{"a host alone", "https://soar.example", nil},
		{"user info alone", "https://soar:pw-Qx7L@soar.example/", nil},
		{"not a URL", "hooks.slack.com/services/T0/B0/Xk29sLq", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := append(Hidden(tt.url), tt.want...)
			if got := PeerEchoes(tt.url); !slices.Equal(got, want) {
				t.Errorf("PeerEchoes(%q) = %q, want %q", tt.url, got, want)
			}
			// They are what Endpoint hides: none is in what it shows.
			shown := Endpoint(tt.url)
			for _, e := range PeerEchoes(tt.url) {
				if strings.Contains(shown, e) {
					t.Errorf("Endpoint(%q) = %q shows %q", tt.url, shown, e)
				}
			}
		})
	}
}
