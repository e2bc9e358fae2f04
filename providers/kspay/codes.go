package kspay

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"paydesk/providers"
)

// group says which of the seed's tables a code comes from. The provider
// reuses numbers across tables (11006 is both "signature format invalid" and
// "date range exceeds 90 days"), so the meaning of a code depends on the call.
type group int

const (
	gCommon group = iota
	gAuth
	gCurrency
	gCompany
	gApp
	gPagination
	gCountry
	gSystem
	gCustom   // "custom" / "customErrors": key lookups, throttling
	gDates    // customErrors 11006–11011: GET /transaction date filters
	gKeyVault // keyVaultErrors: credentials and signatures
	gPaymentMethod
	gGateway
)

// Def is one row of the seed's error tables.
type Def struct {
	Code    int
	HTTP    int
	Name    string // the seed's key
	Message string // fixed text; rows with a parameter build it in a func below
	group   group
	kind    error
}

// kindDepends: the provider does not say whether it acted (5xx-class codes).
// A read may be asked again; a write's outcome is unknown.
var kindDepends = errors.New("depends on the call")

var (
	rej   = providers.ErrRejected
	auth  = providers.ErrAuth
	nf    = providers.ErrNotFound
	trans = providers.ErrTransient
)

// Rows the sandbox answers with, by name.
var (
	defUUID              = Def{-3, 400, "uuidErr", "", gCommon, rej}
	defInvalidID         = Def{-9, 400, "invalidId", "", gCommon, rej}
	defNotFoundURL       = Def{-10, 404, "notFoundUrl", "", gCommon, nf}
	defExternal          = Def{-11, 400, "externalError", "", gCommon, kindDepends}
	defEnvironment       = Def{-13, 400, "environmentSetupError", "", gCommon, rej}
	defInvalidNanoid     = Def{-17, 400, "invalidNanoid", "", gCommon, rej}
	defDecimal           = Def{-19, 400, "decimalValueAmountError", "", gCommon, rej}
	defGatewayCreds      = Def{-34, 401, "invalidCredentials", "", gCommon, rej}
	defTokenMissing      = Def{9000, 400, "authTokenMissing", "Token missing or incorrect", gAuth, auth}
	defUnauthorized      = Def{9007, 401, "unauthorized", "Unauthorized! Please provide valid credentials.", gAuth, auth}
	defRefreshExpired    = Def{9008, 401, "refreshTokenExpired", "Refresh token has expired.", gAuth, auth}
	defRefreshInvalid    = Def{9008, 401, "invalidRefreshToken", "Invalid token.", gAuth, auth}
	defTokenExpired      = Def{9009, 401, "tokenExpired", "Token has expired.", gAuth, auth}
	defNoAccess          = Def{23, 404, "unauthorizedAccess", "You do not have access to edit or fetch the details, kindly contact the administrator.", gSystem, nf}
	defNoData            = Def{24, 404, "noDataFound", "No data found with this ID!", gSystem, nf}
	defInvalidRequest    = Def{25, 400, "invalidRequest", "Invalid Request", gSystem, rej}
	defOops              = Def{26, 500, "oopsSomethingWentWrong", "Oops! Something went wrong", gSystem, kindDepends}
	defInvalidOrigin     = Def{13007, 403, "invalidOrigin", "Access denied from this origin.", gSystem, auth}
	defTooMany           = Def{11005, 429, "tooManyRequests", "Too many requests made in a short period", gCustom, trans}
	defDatesExceed       = Def{11006, 400, "datesExceedError", "Date range exceeds limit! Date range should not exceed 90 days.", gDates, rej}
	defDateRange         = Def{11007, 400, "dateRangeError", "Error: 'fromDate' should be earlier than 'toDate'.", gDates, rej}
	defStartBeforeApp    = Def{11008, 400, "startDateBeforeAppCreation", "The start date cannot be before the app creation date.", gDates, rej}
	defStartAfterToday   = Def{11009, 400, "startDateAfterToday", "The start date cannot be after today's date.", gDates, rej}
	defBothDates         = Def{11010, 400, "startAndEndDateRequired", "Both start date and end date are required if one is provided.", gDates, rej}
	defEndAfterToday     = Def{11011, 400, "endDateAfterToday", "The end date cannot be after today's date.", gDates, rej}
	defCredsNotFound     = Def{11001, 404, "credentialsNotFound", "Credentials not found for the provided access key", gKeyVault, auth}
	defAppNotFound       = Def{11002, 404, "appNotFound", "Application not found for the provided app ID", gKeyVault, auth}
	defUserNotInApp      = Def{11003, 403, "userDoesNotBelongToApp", "User does not belong to the specified application", gKeyVault, auth}
	defBadSecret         = Def{11004, 400, "invalidSecretKey", "Invalid credentials, please check the provided secret key", gKeyVault, auth}
	defSigExpired        = Def{11005, 400, "signatureExpired", "The provided signature has expired", gKeyVault, auth}
	defSigFormat         = Def{11006, 400, "invalidSignatureFormat", "The format of the provided signature is invalid", gKeyVault, auth}
	defAccessKeyMismatch = Def{11008, 400, "accessKeyMismatch", "Access key does not match any active credentials", gKeyVault, auth}
	defAppDisabled       = Def{11011, 404, "appDisabled", "Application is disabled!", gKeyVault, auth}
	defPageNotPositive   = Def{4089, 400, "pageShouldBePositive", "Page should be a positive number greater than 0", gPagination, rej}
	defLimitNotPositive  = Def{4056, 400, "limitShouldBePositive", "Limit should be a positive number greater than 0", gPagination, rej}
	defBadPaymentMethods = Def{13006, 400, "invalidPaymentMethodIds", "", gGateway, rej}
	defBadCurrency       = Def{13007, 400, "invalidCurrencyId", "Invalid currency ID provided, check if currency is valid or disabled by administration", gGateway, rej}
)

// table is every row of both of the seed's error tables.
var table = []Def{
	defUUID, defInvalidID, defNotFoundURL, defExternal, defEnvironment, defInvalidNanoid, defDecimal, defGatewayCreds,
	{-13, 400, "missingGatewaySpecsKeys", "", gCommon, rej},
	{-17, 400, "customError", "", gCommon, rej},
	{-17, 400, "invalidKeyValues", "", gCommon, rej},
	defTokenMissing,
	{9001, 400, "shortUrlTokenMissing", "ShortUrlToken missing or incorrect", gAuth, auth},
	{9002, 400, "authApiKeyMissing", "Api Key is Missing", gAuth, auth},
	{9003, 400, "apiKeyNotGenerated", "Api Key is not generated!", gAuth, auth},
	{9004, 400, "unauthroizedAccess", "Unauthorized Access", gAuth, auth},
	{9004, 401, "unauthorizedAccess", "Unauthorized Access", gAuth, auth},
	{9005, 400, "unauthroizedApiKey", "Invalid API key", gAuth, auth},
	defUnauthorized, defRefreshExpired, defRefreshInvalid, defTokenExpired,
	{1051, 400, "currencyAlreadyExists", "Currency already exists.", gCurrency, rej},
	{1052, 400, "currencyNotExists", "Currency doesn't exist", gCurrency, nf},
	{1053, 400, "currencyCodeAlreadyExists", "Currency code already exists", gCurrency, rej},
	{1054, 400, "invalidCurrencyCode", "Invalid currency code", gCurrency, rej},
	{1055, 400, "currencySubTypeAlreadyExists", "Currency type and code already exist", gCurrency, rej},
	{2000, 400, "companyAlreadyExists", "Company already exists for this user, try updating the existing company.", gCompany, rej},
	{2001, 409, "companyAlreadyExistsWithThisName", "Company already exists with this name, try using a different name.", gCompany, rej},
	{2002, 400, "companyNotExists", "Company doesn't exist.", gCompany, nf},
	{2003, 400, "companyNameEmpty", "Company name can't be empty", gCompany, rej},
	{2004, 400, "companyNameError", "Company name must be between at least 3 characters and a maximum of 60 characters", gCompany, rej},
	{2005, 400, "invalidCountry", "Existing state does not belong to the new country", gCompany, rej},
	{2006, 400, "invalidState", "New state does not belong to the existing country", gCompany, rej},
	{2007, 400, "invalidCountryState", "State does not belong to the given country", gCompany, rej},
	{2051, 400, "appAlreadyExists", "Platform already exists", gApp, rej},
	{2052, 400, "appEmailAlreadyExists", "Platform with this Email already exists", gApp, rej},
	{2053, 400, "appNameAlreadyExists", "Platform with this Name already exists", gApp, rej},
	{2054, 400, "appPhoneAlreadyExists", "Platform with this phone already exists", gApp, rej},
	{2055, 400, "appNotExists", "Platform either does not exist or is not Active!", gApp, auth},
	{2056, 400, "appNameEmpty", "Platform name can't be empty", gApp, rej},
	{2057, 400, "appNameError", "Platform name must be between at least 3 characters and a maximum of 256 characters", gApp, rej},
	{2058, 400, "appNotExist", "No app assigned in this country", gApp, rej},
	{2059, 400, "appNotExistWithThisUserID", "This app is not assigned to this user", gApp, auth},
	{2060, 400, "appGatewayNotExist", "No gateway assigned in this app", gApp, rej},
	{2061, 400, "invalidGstNo", "Enter Valid GST Number", gApp, rej},
	defPageNotPositive, defLimitNotPositive,
	{4052, 400, "countryNotExists", "Country with this name does not exist.", gCountry, rej},
	{5051, 400, "stateDoesNotExists", "The state with this name does not exist.", gCountry, rej},
	{5052, 400, "stateNotCorrect", "The state does not belong to the specified country.", gCountry, rej},
	{23, 401, "unauthorizedAccess", "You do not have access to edit the details, kindly contact administrator.", gSystem, auth},
	defNoAccess, defNoData, defInvalidRequest, defOops,
	{27, 400, "externalProviderIssue", "External Provider issue!", gSystem, kindDepends},
	{28, 400, "dbError", "DB Error", gSystem, kindDepends},
	{29, 400, "invalidApiKey", "Invalid API key", gSystem, auth},
	{30, 500, "notAvailable", "Currently, we are not available in your country. Please contact the support team.", gSystem, rej},
	defInvalidOrigin,
	{11001, 400, "keyNotFoundInDB", "No such key found in the system model", gCustom, auth},
	{11002, 400, "inactiveKeyInDB", "The key provided is not active at the moment", gCustom, auth},
	{11003, 400, "invalidDecryptRes", "The key did not return app ID on Decrypt", gCustom, auth},
	{11004, 400, "appNotFoundForDecryptId", "No app associated with decrypted app ID", gCustom, auth},
	defTooMany,
	defDatesExceed, defDateRange, defStartBeforeApp, defStartAfterToday, defBothDates, defEndAfterToday,
	defCredsNotFound, defAppNotFound, defUserNotInApp, defBadSecret, defSigExpired, defSigFormat,
	{11007, 500, "encryptionError", "Error occurred during encryption or decryption", gKeyVault, kindDepends},
	defAccessKeyMismatch,
	{11009, 500, "generalVerificationError", "An error occurred during signature verification", gKeyVault, kindDepends},
	{11010, 400, "credentialsAlreadyViewed", "Credentials already viewed or downloaded, try regenerating if lost.", gKeyVault, rej},
	defAppDisabled,
	{12001, 404, "paymentMethodNotFound", "Payment method not found for the provided ID", gPaymentMethod, nf},
	{12002, 409, "paymentMethodExists", "Payment method with this name already exists", gPaymentMethod, rej},
	{12003, 409, "paymentMethodAlreadyEnabled", "Payment method is already enabled", gPaymentMethod, rej},
	{12004, 409, "paymentMethodAlreadyDisabled", "Payment method is already disabled", gPaymentMethod, rej},
	{13001, 404, "gatewayNotFound", "Gateway not found or is disabled for the provided ID", gGateway, nf},
	{13002, 404, "gatewaySpecsNotFound", "Gateway Specs not found for the provided ID", gGateway, nf},
	{13003, 409, "gatewayNameExists", "Gateway with this name already exists", gGateway, rej},
	{13004, 409, "gatewayAlreadyExistForThisUser", "Gateway with this name already exists for this user", gGateway, rej},
	{13005, 400, "invalidGatewayData", "Provided data for gateway is invalid", gGateway, rej},
	defBadPaymentMethods,
	{13006, 409, "gatewayUpdateConflict", "Gateway with this name already exists, cannot update", gGateway, rej},
	defBadCurrency,
	{13008, 400, "credentialsNotYetAdded", "Credentials not yet updated, or step 1 is still pending", gGateway, rej},
	{13009, 400, "credentialStepFailed", "Step 1 (Credential Status) is in a failed state; cannot update step 2 or step 3.", gGateway, rej},
	{13010, 400, "stepAlreadyCompleted", "Step already in verification state", gGateway, rej},
	{13011, 400, "GatewayStatusInVerify", "Gateway is in verification, can't reattempt", gGateway, rej},
	{13012, 400, "GatewayStatusNotVerified", "Gateway is in verification, can't add domain", gGateway, rej},
	{13013, 400, "GatewayStatusNotVerifiedCannotDisable", "Gateway is in verification, can't disable", gGateway, rej},
	{13014, 400, "paymentGatewayCannotBeEdited", "Gateway can't be edited, reattempt the verification process to edit the details", gGateway, rej},
}

// Messages of the rows that take a parameter, word for word from the seed.
func msgInvalidNanoid(prefix string) string {
	return fmt.Sprintf("ID must start with '%s' and be %d characters long with alphanumeric characters following the prefix.", prefix, idLength)
}
func msgInvalidID(field string) string { return field + " not present in Request" }
func msgDecimal(places int) string {
	return fmt.Sprintf("Number should have at most the allowed number of decimal places ie - %d", places)
}
func msgBadPaymentMethods(ids []string) string {
	return "The following payment method IDs does not exist in DB: " + strings.Join(ids, ", ")
}

// Lookup finds the row for code as answered with HTTP status to op. Rows
// sharing a code are told apart by status, then by the call: GET /transaction
// means the date table, everything else the key-vault table.
func Lookup(op string, status, code int) (Def, bool) {
	var cands []Def
	for _, d := range table {
		if d.Code == code {
			cands = append(cands, d)
		}
	}
	if len(cands) == 0 {
		return Def{}, false
	}
	best := cands[0]
	score := -1
	for _, d := range cands {
		s := 0
		if d.HTTP == status {
			s += 2
		}
		if (op == opTransactions) == (d.group == gDates || d.group == gCustom || d.group == gPagination) {
			s++
		}
		if s > score {
			best, score = d, s
		}
	}
	return best, true
}

// classify returns the sentinel a caller sees for a coded refusal.
func classify(op string, status, code int, message string, idempotent bool) error {
	d, ok := Lookup(op, status, code)
	kind := d.kind
	switch {
	case !ok && status == http.StatusTooManyRequests:
		kind = trans
	case !ok && status >= 400 && status < 500:
		kind = rej
	case !ok:
		kind = kindDepends
	}
	if op == opInitiate && code == defInvalidNanoid.Code && strings.HasPrefix(message, msgReferenceUsed) {
		return providers.ErrDuplicate
	}
	if kind == kindDepends {
		if idempotent {
			return providers.ErrTransient
		}
		return providers.ErrOutcomeUnknown
	}
	return kind
}

// Operation names, used in errors and to read overloaded codes.
const (
	opGenerateToken     = "GenerateToken"
	opGenerateSignature = "GenerateSignature"
	opRefreshToken      = "RefreshToken"
	opCurrencies        = "Currencies"
	opPaymentMethods    = "PaymentMethods"
	opInitiate          = "InitiateTransaction"
	opProcess           = "ProcessTransaction"
	opTxnByID           = "TransactionByID"
	opTransactions      = "Transactions"
)

// Error is what the client returns for anything but success. Code is the
// provider's code when it answered with one (HasCode); otherwise Marker says
// what went wrong on the way (transport, HTTP status without envelope,
// malformed answer).
type Error struct {
	Op         string
	Code       int
	HasCode    bool
	HTTPStatus int
	Message    string
	Marker     string

	kind       error
	err        error
	retryAfter time.Duration // from a 429's Retry-After
}

// Markers for errors without a provider code.
const (
	MarkerTransport = "transport"
	MarkerHTTP      = "http"
	MarkerMalformed = "malformed answer"
	MarkerClient    = "client"
)

func (e *Error) Error() string {
	s := "kspay: " + e.Op + ": "
	if e.HasCode {
		s += strconv.Itoa(e.Code)
	} else {
		s += e.Marker
		if e.HTTPStatus != 0 {
			s += " " + strconv.Itoa(e.HTTPStatus)
		}
	}
	if e.Message != "" {
		s += " " + e.Message
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

// Unwrap exposes the providers sentinel and the underlying cause.
func (e *Error) Unwrap() []error {
	var out []error
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.err != nil {
		out = append(out, e.err)
	}
	return out
}

// IsCode reports whether err is a provider answer with code.
func IsCode(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.HasCode && e.Code == code
}
