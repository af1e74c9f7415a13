package ghstandin

// AppID is the ID of the stand-in's own GitHub App, whose bot is
// BotLogin: what `purrvision setup --app-id` names when run against it
// (the required check's app_id, the rulesets' bypass actor).
const AppID int64 = appID
