package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"

	"paydesk/db"
)

// Routes lists every route Paydesk serves, in one place.
func Routes(app *fiber.App, s *Server) {
	app.Use(s.requestLog, s.recoverPanics, s.securityHeaders)
	// Best speed: HTML compresses to a fifth of its size even so, at a third
	// of the default level's CPU per page.
	app.Use(compress.New(compress.Config{Level: compress.LevelBestSpeed, Next: func(c *fiber.Ctx) bool {
		return len(c.Path()) > 8 && c.Path()[:8] == "/static/" // pre-compressed
	}}))

	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", s.metrics)
	app.Get("/static/:name", s.staticAsset)
	// NTT DATA's notification that a link was paid or expired: no session
	// and no CSRF token (the provider has neither); its signature is the
	// proof (links.go).
	app.Post("/links/notify", s.linkNotify)

	web := app.Group("", s.loadSession, s.auditRefusals, s.checkCSRF)
	web.Get("/login", s.loginPage)
	web.Post("/login", s.login)
	web.Post("/logout", s.requireUser, s.logout)
	// The second step of a sign-in: the session holds no user until it.
	web.Get("/login/code", s.loginCodePage)
	web.Post("/login/code", s.loginCode)
	// KS Pay sends the payer (who has no Paydesk sign-in) back here.
	web.Get("/gateway/return", s.gatewayReturn)

	signedIn := web.Group("", s.requireUser, s.cachePages)
	signedIn.Get("/", s.home)
	signedIn.Get("/queue", s.queuePage)
	signedIn.Post("/queue/bulk", s.requireRole(db.RoleChecker, db.RoleAdmin), s.bulkDecide)
	signedIn.Get("/approvals/:id", s.approvalPage)
	// Sign-in security: everyone's own second factor, and the step-up
	// before a big decision.
	signedIn.Get("/account/security", s.securityPage)
	signedIn.Post("/account/security/enrol", s.beginEnrolment)
	signedIn.Post("/account/security/confirm", s.confirmEnrolment)
	signedIn.Post("/account/security/recovery-codes", s.renewRecoveryCodes)
	signedIn.Get("/step-up", s.stepUpPage)
	signedIn.Post("/step-up", s.stepUp)

	// Operations and finish: the payout form's contact search (before
	// /payouts/:id), the collections' export, the retry of a bank-side
	// decision that failed to reach the bank (an approval holder's; the
	// store checks the role too, and audits), a user's own page.
	signedIn.Get("/payouts/contacts", s.requireRole(db.RoleMaker), s.contactSearch)
	signedIn.Get("/collections.csv", s.collectionsCSV)
	signedIn.Post("/bank-side/:id/retry", s.requireRole(db.RoleChecker, db.RoleAdmin), s.retryBankSide)
	signedIn.Get("/admin/users/:id", s.requireRole(db.RoleAdmin), s.userPage)

	signedIn.Get("/payouts", s.payoutsPage)
	signedIn.Get("/payouts.csv", s.payoutsCSV)
	signedIn.Get("/payouts/new", s.requireRole(db.RoleMaker), s.newPayoutPage)
	signedIn.Post("/payouts", s.requireRole(db.RoleMaker), s.proposePayout)
	signedIn.Get("/payouts/bulk", s.requireRole(db.RoleMaker), s.bulkPayoutsPage)
	signedIn.Get("/payouts/bulk/template.csv", s.requireRole(db.RoleMaker), s.bulkPayoutsTemplate)
	signedIn.Post("/payouts/bulk/preview", s.requireRole(db.RoleMaker), s.bulkPayoutsPreview)
	signedIn.Post("/payouts/bulk", s.requireRole(db.RoleMaker), s.bulkPayoutsSubmit)
	signedIn.Post("/payouts/from-vendor-request/:id", s.requireRole(db.RoleMaker), s.proposeFromVendorRequest)
	signedIn.Get("/payouts/:id", s.payoutPage)
	signedIn.Post("/payouts/:id/retry", s.requireRole(db.RoleChecker, db.RoleAdmin), s.retryPayout)

	signedIn.Get("/contacts", s.contactsPage)
	signedIn.Get("/contacts.csv", s.contactsCSV)
	manageContacts := s.requireRole(db.ContactManagerRoles...)
	signedIn.Get("/contacts/new", manageContacts, s.newContactPage)
	signedIn.Post("/contacts", manageContacts, s.createContact)
	// Before /contacts/:id, which would otherwise take "import".
	signedIn.Get("/contacts/import", manageContacts, s.contactsImportPage)
	signedIn.Get("/contacts/import/template.csv", manageContacts, s.contactsImportTemplate)
	signedIn.Post("/contacts/import/preview", manageContacts, s.contactsImportPreview)
	signedIn.Post("/contacts/import", manageContacts, s.contactsImportSubmit)
	signedIn.Get("/contacts/:id/edit", manageContacts, s.editContactPage)
	signedIn.Get("/contacts/:id", s.contactPage)
	signedIn.Post("/contacts/:id", manageContacts, s.updateContact)

	collect := s.requireRole(db.CollectionRoles...)
	signedIn.Get("/collections", s.collectionsPage)
	signedIn.Get("/collections/new", collect, s.newCollectionPage)
	signedIn.Post("/collections", collect, s.createCollection)
	signedIn.Get("/collections/vendor-requests", s.vendorRequestsPage)
	signedIn.Post("/collections/vendor-requests/:id/dismiss", collect, s.dismissVendorRequest)
	signedIn.Get("/collections/:id", s.collectionPage)
	// Balances and KS Pay collections.
	signedIn.Get("/balances", s.balancesPage)
	signedIn.Get("/balances.csv", s.balancesCSV)
	signedIn.Get("/balances/changes.csv", s.balanceChangesCSV)
	signedIn.Post("/balances/threshold", s.requireRole(db.RoleAdmin), s.setThreshold)
	gatewayMakers := s.requireRole(db.GatewayRoles...)
	signedIn.Get("/gateway", s.gatewayPage)
	signedIn.Get("/gateway.csv", s.gatewayCSV)
	signedIn.Get("/gateway/new", gatewayMakers, s.newGatewayPage)
	signedIn.Post("/gateway", gatewayMakers, s.createGateway)
	signedIn.Get("/gateway/analytics", s.gatewayAnalyticsPage)
	signedIn.Get("/gateway/analytics.csv", s.gatewayAnalyticsCSV)
	signedIn.Get("/gateway/:id", s.gatewayTxnPage)
	// Asking KS Pay changes nothing but our copy of its state.
	signedIn.Post("/gateway/:id/check", s.requireRole(db.RoleAdmin, db.RoleMaker, db.RoleChecker), s.checkGateway)
	// Virtual accounts, their credits and refunds.
	manageVAs := s.requireRole(db.VAManagerRoles...)
	signedIn.Get("/virtual-accounts", s.vaListPage)
	signedIn.Get("/virtual-accounts.csv", s.vaCSV)
	signedIn.Get("/virtual-accounts/new", manageVAs, s.newVAPage)
	signedIn.Post("/virtual-accounts", manageVAs, s.createVA)
	signedIn.Get("/virtual-accounts/upload", manageVAs, s.vaUploadPage)
	signedIn.Get("/virtual-accounts/upload/template.csv", manageVAs, s.vaUploadTemplate)
	signedIn.Post("/virtual-accounts/upload/preview", manageVAs, s.vaUploadPreviewPost)
	signedIn.Post("/virtual-accounts/upload", manageVAs, s.vaUploadSubmit)
	signedIn.Get("/virtual-accounts/requests/:id", s.vaRequestPage)
	signedIn.Get("/virtual-accounts/:number", s.vaPage)
	signedIn.Get("/virtual-accounts/:number/edit", manageVAs, s.editVAPage)
	signedIn.Post("/virtual-accounts/:number", manageVAs, s.modifyVA)
	signedIn.Post("/virtual-accounts/:number/close", manageVAs, s.closeVA)
	signedIn.Get("/credits", s.creditsPage)
	signedIn.Get("/credits.csv", s.creditsCSV)
	signedIn.Get("/credits/unmatched", s.unmatchedPage)
	signedIn.Get("/credits/:id", s.creditPage)
	signedIn.Post("/credits/:id/attach", s.requireRole(db.RoleAdmin), s.attachCredit)
	signedIn.Post("/credits/:id/refunds", s.requireRole(db.VARefundRoles...), s.proposeRefund)
	// Payment links and the invoice templates they are made from.
	linkMakers := s.requireRole(db.LinkRoles...)
	signedIn.Get("/templates", s.templatesPage)
	signedIn.Post("/templates/refresh", linkMakers, s.refreshTemplates)
	signedIn.Get("/templates/:id", s.templatePage)
	signedIn.Get("/links", s.linksPage)
	signedIn.Get("/links.csv", s.linksCSV)
	signedIn.Get("/links/new", linkMakers, s.newLinkPage)
	signedIn.Post("/links", linkMakers, s.createLink)
	signedIn.Get("/links/bulk", linkMakers, s.linkBulkPage)
	signedIn.Get("/links/bulk/template.csv", linkMakers, s.linkBulkTemplate)
	signedIn.Post("/links/bulk/preview", linkMakers, s.linkBulkPreview)
	signedIn.Post("/links/bulk", linkMakers, s.linkBulkSubmit)
	signedIn.Post("/links/threshold", s.requireRole(db.RoleAdmin), s.setLinkThreshold)
	signedIn.Get("/links/:id", s.linkPage)
	signedIn.Post("/links/:id/resend", linkMakers, s.resendLink)
	signedIn.Post("/links/:id/cancel", linkMakers, s.cancelLink)
	// Approve, reject and withdraw are open to every signed-in user on
	// purpose: the approval engine checks role and four-eyes inside the
	// deciding transaction and audits every refusal, which a route gate
	// would hide.
	signedIn.Post("/approvals/:id/approve", s.approveRequest)
	signedIn.Post("/approvals/:id/reject", s.rejectRequest)
	signedIn.Post("/approvals/:id/withdraw", s.withdrawRequest)

	admin := signedIn.Group("/admin", s.requireRole(db.RoleAdmin))
	admin.Get("/users", s.usersPage)
	admin.Post("/users", s.createUser)
	admin.Post("/users/:id/roles", s.setUserRoles)
	admin.Post("/users/:id/disable", s.disableUser)
	admin.Post("/users/:id/enable", s.enableUser)
	admin.Post("/users/:id/password", s.resetUserPassword)
	admin.Post("/users/:id/end-sessions", s.endUserSessions)
	admin.Post("/users/:id/unlock", s.unlockUser)
	admin.Post("/users/:id/reset-second-factor", s.resetSecondFactor)
	admin.Post("/security/step-up-band", s.setStepUpBand)
	admin.Get("/rules", s.rulesPage)
	admin.Post("/rules", s.changeRules)
	admin.Get("/audit", s.auditPage)
	admin.Get("/audit.csv", s.auditCSV)

	app.Use(s.notFound)
}
