// TLS fixtures for the wss:// tests (WebSocket and CLI), committed once; valid until 2126.
//
// They live in a Swift file because SwiftPM warns about any other file inside a target folder
// that Package.swift does not declare as a resource (and the tests only need file paths:
// `TLSFixtures.directory` writes them to a temporary folder on first use).
//
// How they were made (OpenSSL 3.0, `openssl` CLI):
//
//     openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 36500 \
//         -subj "/CN=River Test CA" \
//         -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
//     openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj "/CN=localhost"
//     printf "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
//     keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" > server.ext
//     openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
//         -out server.pem -days 36500 -extfile server.ext
//     openssl req -newkey rsa:2048 -nodes -keyout client-key.pem -out client.csr -subj "/CN=river-test-client"
//     printf "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n" > client.ext
//     openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
//         -out client.pem -days 36500 -extfile client.ext
//
// The CA key was not kept. To make new ones, run the commands above and paste the PEM files
// into the string literals below.

public import Foundation

/// A test CA, a server certificate for localhost/127.0.0.1 and a client certificate, all
/// signed by that CA, as PEM text and as files.
public enum TLSFixtures {

    /// PEM text.
    public static let caCertificate = """
-----BEGIN CERTIFICATE-----
MIIDIzCCAgugAwIBAgIUcHYB09OZcBpETBJXd7YbSNlHia0wDQYJKoZIhvcNAQEL
BQAwGDEWMBQGA1UEAwwNUml2ZXIgVGVzdCBDQTAgFw0yNjExMjQwMDM0NTBaGA8y
MTI2MTAzMTAwMzQ1MFowGDEWMBQGA1UEAwwNUml2ZXIgVGVzdCBDQTCCASIwDQYJ
KoZIhvcNAQEBBQADggEPADCCAQoCggEBAMES2tBhnBb9ur2ZQVFDUbvnHzbnfwpL
aM6CqCUbfgMharn9VlWRVw5726DtCpg1jxfdtj1WyO6WcqUuhSMvjMHdsXb1t1uW
+8V+vUxTbl5uZ1+RK24wQQD3j8uM+LoPDGq5Pqtx+OB5GsRFsVX3VxxMln/BMqG/
3KUa8uOqf+FXGxQD72zwzUVChJZ6OuOUhBl8p/I2U/FsrIdl/FAn7v5Zj53JZPmz
v9sNG0Bq7hDC/aP22Y1QChWYtLm7tsav1+pRNjqL60z5aEkDmyuK6LTA2PuOlCaJ
E0IhA5ShSvawsOiOqMiwhuu09VP9AEcbPTRVxFIhN7DDsLNS+hHJn1ECAwEAAaNj
MGEwHQYDVR0OBBYEFM8E8EH7yU83M0cMBzfqy8WpYzb2MB8GA1UdIwQYMBaAFM8E
8EH7yU83M0cMBzfqy8WpYzb2MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD
AgEGMA0GCSqGSIb3DQEBCwUAA4IBAQC2ywWoLDXlb0TSOBJ8XrBEc8gQebrqELTN
NHyYAKTk8iZheb6ll5k+KIfFgu7/0CxMrQR7i+bI/2TgUQ3VMISJENg2MRaludDD
b8xl/CwAatg+YXDPRaHbhYmC0g5LGULCxEn+JDSZynlYmrsLTJJVze30bS0yEK5i
BMHDqFoYLkLs+mVsVmnbP7AaIoCuTwvpEKtBQqLEsboniG/nUPw6DZNKl5lbXigr
OiAfgOLQVWCZSDYD1v43dwcibBtYb4WYMgoOov2vsdk06cXt6pEFXIEfTTPb78/Y
EXkCSFA3nAfsROZFRUfd9lFTdqTIbo7jq7EjKqJ8QftX5mHwxoQn
-----END CERTIFICATE-----
"""

    /// PEM text.
    public static let serverCertificate = """
-----BEGIN CERTIFICATE-----
MIIDSTCCAjGgAwIBAgIUNpE+shvcaUu6a1rYZutnhrHP1OEwDQYJKoZIhvcNAQEL
BQAwGDEWMBQGA1UEAwwNUml2ZXIgVGVzdCBDQTAgFw0yNjExMjQwMDM0NTBaGA8y
MTI2MTAzMTAwMzQ1MFowFDESMBAGA1UEAwwJbG9jYWxob3N0MIIBIjANBgkqhkiG
9w0BAQEFAAOCAQ8AMIIBCgKCAQEA5qVOsTAVU8nBiqo+7oTfLzsNwUtuzLh2DXhD
hAE/CiPvy9JXv2BN5+mC/z4gxIf9Tn1e3LmCQFeJzC7NyFhb9OYRVS5Jc1iCLXI8
BKAGcpYP6aYmPGdsCJlvmTkkLrESez5isk8asYGo+Gwhct9sIc1jGHtKgbZbi6QB
LXhc3rleFNG5Zr1C2xISEG6/OLFEAayVRzHMtglntx/mBjcpr5bsoGKkuRNYA/Z5
HYKRto/YFxQ7fKivfpLr9DW92IhnScxtldmrkTFZgCJ4Qy6w6Y3CnK1vRJKHMlex
RpVjdkUTRDNg6QONZErLry7ywFPbvn637DhDmK865Fle3+ctbQIDAQABo4GMMIGJ
MBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAAATAJBgNVHRMEAjAAMAsGA1UdDwQE
AwIFoDATBgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4EFgQULzG33EbePClU5H3F
UBfY7/9h16QwHwYDVR0jBBgwFoAUzwTwQfvJTzczRwwHN+rLxaljNvYwDQYJKoZI
hvcNAQELBQADggEBAAwjz5LEXmmP23Kc9GpeJ4D6iGveikDjL6a5La3JU1kgkTbY
aujk4BJ4/RB/Cb15jzGEhA+tRa6KCwLfhwXmrgRo3E/MQAuDwBqbRkvSQo47MCYi
jbF+euYn71EWOvx/+4U9DEYUXC2mBIWO1dprt8alBL7u2A2FTEpmTiKDRFpDUSAa
VofYTxCqQvWme09AqgtCyN5JSvusq2vAr+a7IeaH0dy0bTz1qMNFfJmHebbK3dBI
yC9y4roYwPbkLIqr7dQ3wRTGxwMXGq+r2uv9HJUiYIaDxHO1b+LnWXA4uc2yga2U
OlSJKg3yU7soRxWnADz+fAgX/3KRxvv2C5pruJQ=
-----END CERTIFICATE-----
"""

    /// PEM text.
    public static let serverKey = """
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDmpU6xMBVTycGK
qj7uhN8vOw3BS27MuHYNeEOEAT8KI+/L0le/YE3n6YL/PiDEh/1OfV7cuYJAV4nM
Ls3IWFv05hFVLklzWIItcjwEoAZylg/ppiY8Z2wImW+ZOSQusRJ7PmKyTxqxgaj4
bCFy32whzWMYe0qBtluLpAEteFzeuV4U0blmvULbEhIQbr84sUQBrJVHMcy2CWe3
H+YGNymvluygYqS5E1gD9nkdgpG2j9gXFDt8qK9+kuv0Nb3YiGdJzG2V2auRMVmA
InhDLrDpjcKcrW9EkocyV7FGlWN2RRNEM2DpA41kSsuvLvLAU9u+frfsOEOYrzrk
WV7f5y1tAgMBAAECggEAKu33XusGeTU7GSp1crNYEEQzW/hEnAW0cW7iUDJkL6i/
NCaHTxdngMQ5rfT8J+Bw8ThMHRTJTd0NSKwogMMTgJqG/N4T7Ux61GcoDStU7+SG
+zQB92m/lb0rZK9aUPeD610SBULMguARmYWU1zsHNyZxrKecF1cgJHZnArXdwVWQ
WwnJBzS0UeE6mXRpc5sjtb0GxvEOLAAsg7KCzW/gRHIHGfBTqFI1nP4LZgWBzJzf
2RlZgvQAmpNo85xKizjQhPgjmq24VprnCOmxHqVqXuIvbfUfJtQLAYDSuissIb7t
i9kOi0iNupEcvb+3K3jxk3gr/I246yMuUxiDDzhEoQKBgQD17ykSKm4+Qyal86PK
H5OyQOlCiWh52kobrISfoy0H4KkOrLppm6fddRO6qJ0TGgCiYE+rXhTcCuOs/0uI
d2BoiVwryrrWSywmidO4JQIIfrk2HMrv64buF5guo9CaMvZMANZOwgzyFwdIaQ7T
eVi5OhCCmy/i/j1+o4ki0Uux4QKBgQDwFfU2B1lr6KYb9Jpq1oCHxWrDvT0xkos+
ojlMhswJ80WUX5fD0DqGCfFTo3vF49zwmFacnFGHL1Sy1tCiEaVqpKjNzIptBrLZ
ktIwX5l3x6BtX5csl+lwyckJ47VplNboPOG8HZyZnB/QNro6hkItw0EFDu5VY46T
t4sbTs3FDQKBgGVble+4sQrUHh+TFFP/Q53Zhsk3XGmr/5L8PQSV+b8fZk13/rP7
xOlOkT0CtQnkU5KYYv1bnvk5O7BW30h0+rTat7QMr4gWHzIa57ki932MzMRyhWjw
BwIlk0DVnumOS1fzmF+JNlCoEQZU1hluD5T3S0qorsm8wpdoyuIgpDPBAoGAdzeA
Fv8ZQUM6UMFqeEjhdAns1RvAKkCJkmV9rGl3Ii3BzEaXlu1sUijXw993U7GtgW8z
+vqIZWd0WIXg/cljaYwwIllCF5du8ik85DZkf50KJaWE7OjWS2J3yMhgyffVq2an
9QCDRafICF1UpkEK1aySOc/LO21/XAyVL8820HUCgYEA9FQDm5cz3puX2yCAP39a
fAhv9VsWnBCI2MPq7peeVw5StM40Ox2Raev12OrWRuIwdyrczcMk85vxixijtDS2
LDNA8ZJIRmyOg6OJaMtoyErqe1lFHX3UIKrHza9KwhFNYUGx5ib3LQBFPvgbWkIG
7SwIX146s/M9JTq+8c5yWHU=
-----END PRIVATE KEY-----
"""

    /// PEM text.
    public static let clientCertificate = """
-----BEGIN CERTIFICATE-----
MIIDMzCCAhugAwIBAgIUNpE+shvcaUu6a1rYZutnhrHP1OIwDQYJKoZIhvcNAQEL
BQAwGDEWMBQGA1UEAwwNUml2ZXIgVGVzdCBDQTAgFw0yNjExMjQwMDM0NTFaGA8y
MTI2MTAzMTAwMzQ1MVowHDEaMBgGA1UEAwwRcml2ZXItdGVzdC1jbGllbnQwggEi
MA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQC2rjXB89wQhQBnqWHQHdVhpq6d
U+cFWTv0f3FmWK4yrX3PhQlVtxEruXNJJMd/WbsYHjFKY+VPdGKGVRSdJOSqTDMx
hlcvW+qd9Y+AcRw3f3GPYyr4y/rAK2KflRHgzUAUyrI0MhNG34uphM8ruZU8+D6y
dfchLr75l5SZG4OkCBft8POgRvADKAxHU42cYBs7ojEA9YPYhalJjH38Ur0W0oVq
Fvr3nARmhzuk0DDKj4M13XXAa6RPGT409q0pluztNopXQyMAbGILtnouvvCL5quq
fdA81drQHeZDpuq1RyW0RPuOQexjZe1dEbuvds+iQUEvwZ5Jwtrpq6ZcWHxNAgMB
AAGjbzBtMAkGA1UdEwQCMAAwCwYDVR0PBAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUF
BwMCMB0GA1UdDgQWBBSM/PwnU7rNlkpZRwBaFZoetvc7SjAfBgNVHSMEGDAWgBTP
BPBB+8lPNzNHDAc36svFqWM29jANBgkqhkiG9w0BAQsFAAOCAQEAjCo29C0LWJ6r
YkcffjLoOEiZovsvYMfVz/JyFdpylLP7RFTK5GWaGVu0roA6chgdZH5TBgPWqbko
q9K6olL2uQpNCIzHTZZDQWk/wdfQDXvlHf1XsXEsFasNrGA7w0duYU+LD3d55SFP
AGZO1qLcamktyy2oUzrAZxewQnzvsnh4/0PS2wfWAOxQuSF6FRliY+KxXb2QCwcn
2pD+Be2PlhAhbl6P3DsxY8tST1cZk9t84VANHv8dbDI9Db3UqUQbQ8d3zVg+s1gD
QtT8iWUfBW4S0pxDvtyeHQ+1Ys1cxZ0I/S0C/ixTwWZ82pLkLRxeu9J5Q2aHTdea
NUOTpuDO7w==
-----END CERTIFICATE-----
"""

    /// PEM text.
    public static let clientKey = """
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC2rjXB89wQhQBn
qWHQHdVhpq6dU+cFWTv0f3FmWK4yrX3PhQlVtxEruXNJJMd/WbsYHjFKY+VPdGKG
VRSdJOSqTDMxhlcvW+qd9Y+AcRw3f3GPYyr4y/rAK2KflRHgzUAUyrI0MhNG34up
hM8ruZU8+D6ydfchLr75l5SZG4OkCBft8POgRvADKAxHU42cYBs7ojEA9YPYhalJ
jH38Ur0W0oVqFvr3nARmhzuk0DDKj4M13XXAa6RPGT409q0pluztNopXQyMAbGIL
tnouvvCL5quqfdA81drQHeZDpuq1RyW0RPuOQexjZe1dEbuvds+iQUEvwZ5Jwtrp
q6ZcWHxNAgMBAAECggEAQSJWSoQvV7iET3GmTXUFqt6qbbAHs/GAHgn+ndZKrgkL
zZ0KmgQ+3A8wWskBVJfizJOfUX3SugSuSGU3h1wrJ8kpi6PxnBIy0gVHGC28ONF4
5P4fyTu5eSE+9dVJ3ZRxH7ix10hvdRqpilSvJVDzNBzzBeBnr+4h644vTnPv+ODL
nzl/SwjtomC9jSMXGoUxg6dWgf8s04gJ97Fg/qkAEitBaw1uE/mg6AJB7z/S37Jq
zBgtK9M7ORfK+tAd8hGakb3K9mfsnGn+IPxdRj+hU8k4Rc+yUbgkIdqfnYdEerte
wvKPhnpCRNIWSb8dIfv9EsDch2WR3mlDt6Kp9GgKxQKBgQDdIzCcpEl9Tj2paPFp
aPL2f1dY9tZb9BF3QfTo8bOWfMqN4QVINuRBZiH5VAd1DXGqBxAkLlmTRUrPDZ6R
OdwHnMWSwwcSrqUswbazln5pCE5lBX65+a0SkT6NHeCSc6C1UpoPXBJJxb5siAzF
hZL5yvhT4hvophZQj4yaxcOsXwKBgQDTevMDyt+haDuqryK9FHOYkitr4cldQqx4
D5jNO4F2yLWeOMm6to3hMv9tWsoL8zkk9Q4j3+qz1dUum4Q65R5244Q69wMBtj7c
CKpUfDe5xhyCeQr2H/yZjYO7cJHxpWcZYSNlfDzLstPfULFnhTb3R8RWxS7ZXae3
808+WEbW0wKBgE4sooK9kT0665F4B9+7uihp2/cXS7A2F/aQ2oN+7n3En9aINdXR
kd+Mu3XovroihowU8x/XQtNNK6UGq4erbJ1ETpQTXey80KeB05SpHwcCaLRNvP8B
xK1Lq1E3vqwHNEjlapEDe3OY9Dhp4BnznoGvvxnoVPVpwXm5RXtxbjsBAoGAAvtM
ydTmakQp8zIc70WGi7Qj4JWCXUo/XEH8CYi5Po994Ak07uj7/xzU9Rm+l4SKXbcG
yAK0MGznYIzYxGvOjiaPCrXI2RFUuY11uVM3BeuBI2XJfcbdrNyN6uqfZCTM21K/
SQMDaGvRCOj+V1NNfxcH8aE+E9p6LuHDUEG2XfkCgYEAvZULd8TtoSWgLAmKsYQO
fpU39QZwd7DnakyUguFkKKGNMhcApj64Z2NTXvBp01J4vJFQhFYde18itDAcPxId
W+4VsdDbMRF4J219D3+4dhMnTp1Wv9shs98wNJfrEzUQshrXxfb19Mji/XrMa7oT
Q1YcS3oKyUK/8lBxaliMyWM=
-----END PRIVATE KEY-----
"""


    /// A temporary folder holding the PEM files above (written once per test process, removed
    /// when it exits).
    public static let directory: URL = {
        let folder = folderOfThisProcess()
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: TLSFixtures.folderOfThisProcess()) }
        let files = [
            ("ca.pem", caCertificate), ("server.pem", serverCertificate), ("server-key.pem", serverKey),
            ("client.pem", clientCertificate), ("client-key.pem", clientKey),
        ]
        for (name, contents) in files {
            try? Data((contents + "\n").utf8).write(to: folder.appendingPathComponent(name))
        }
        return folder
    }()

    private static func folderOfThisProcess() -> URL {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("river-tls-fixtures-\(ProcessInfo.processInfo.processIdentifier)")
    }

    /// The CA certificate file.
    public static var caPath: String { directory.appendingPathComponent("ca.pem").path }
    /// The server certificate file.
    public static var serverCertificatePath: String { directory.appendingPathComponent("server.pem").path }
    /// The server key file.
    public static var serverKeyPath: String { directory.appendingPathComponent("server-key.pem").path }
    /// The client certificate file.
    public static var clientCertificatePath: String { directory.appendingPathComponent("client.pem").path }
    /// The client key file.
    public static var clientKeyPath: String { directory.appendingPathComponent("client-key.pem").path }
}
