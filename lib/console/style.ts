// The console's stylesheet, inlined in the page under a CSP nonce. Mobile first.
export const consoleStyle = `
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f6f7f9;color:#1f1f24}
a{color:#1f5fbf}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,[tabindex]:focus-visible{outline:3px solid #fc6d26;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem;z-index:10}
.skip:focus{left:.5rem}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header.bar{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.5rem 1rem;background:#292961;color:#fff}
header.bar .brand{font-weight:700;font-size:1.1rem;color:#fff;text-decoration:none}
header.bar .account{margin-left:auto;display:flex;flex-wrap:wrap;align-items:center;justify-content:flex-end;gap:.5rem 1rem}
header.bar .who{overflow-wrap:anywhere}
header.bar button{background:transparent;color:#fff;border-color:#fff}
nav.console-nav{flex-basis:100%;order:3;overflow-x:auto}
nav.console-nav ul{display:flex;flex-wrap:wrap;gap:.25rem;margin:0;padding:0;list-style:none}
nav.console-nav a{display:block;padding:.5rem .75rem;color:#fff;text-decoration:none;border-radius:6px;white-space:nowrap}
nav.console-nav a[aria-current="page"]{background:#fff;color:#292961;font-weight:600}
main{max-width:72rem;margin:0 auto;padding:1rem}
main:focus{outline:none}
section{margin-top:1.5rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .75rem}
form{background:#fff;border-radius:8px;padding:1rem;box-shadow:0 1px 3px #0002;max-width:44rem}
form.inline{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:flex-end;max-width:none}
form.inline .field{flex:1 1 12rem}
fieldset{border:1px solid #d0d4db;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
legend{font-weight:600;padding:0 .25rem}
.field{margin:0 0 1rem}
.field label{display:block;font-weight:600;margin-bottom:.25rem}
.field.check{display:grid;grid-template-columns:auto 1fr;gap:.25rem .6rem;align-items:start}
.field.check input{width:1.35rem;height:1.35rem;margin:.1rem 0 0}
.field.check label{margin:0}
.field.check .hint{grid-column:2}
.hint{margin:.1rem 0 .35rem;color:#4b5060;font-size:.9rem}
input[type=text],input[type=url],input[type=email],input[type=password],input[type=search],select,textarea{width:100%;font:inherit;padding:.55rem .6rem;border:1px solid #8a909c;border-radius:6px;background:#fff;color:inherit;min-height:2.75rem}
textarea{resize:vertical}
[aria-invalid=true]{border-color:#b42318;box-shadow:0 0 0 1px #b42318}
.field-error{color:#b42318;font-weight:600;margin:.25rem 0 0}
button,.button{display:inline-block;font:inherit;min-height:2.75rem;padding:.5rem 1rem;border-radius:6px;border:1px solid #1f5fbf;background:#fff;color:#1f5fbf;cursor:pointer;text-decoration:none;line-height:1.6}
button.primary,.button{background:#1f5fbf;color:#fff}
button.danger{border-color:#b42318;color:#b42318}
button:disabled{opacity:.55;cursor:not-allowed}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-bottom:1rem}
.alert{border:1px solid #b42318;background:#fdecea;color:#7a1610;border-radius:6px;padding:.5rem 1rem;margin-bottom:1rem}
.alert p{margin:.25rem 0}
.warning{display:block;border-left:4px solid #b54708;background:#fff6e5;color:#5c2d02;padding:.5rem .75rem;border-radius:0 6px 6px 0}
.note{border-left:4px solid #1f5fbf;background:#eef4fc;padding:.5rem .75rem;border-radius:0 6px 6px 0}
.reason{font-size:.85rem;color:#4b5060;margin:.25rem 0 0;max-width:22rem}
.table-wrap{overflow-x:auto;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002;margin-bottom:1rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.5rem .75rem;border-bottom:1px solid #e4e6ea;overflow-wrap:anywhere}
th{background:#f0f1f4;font-size:.9rem}
td.row-actions{white-space:nowrap}
td.row-actions a{margin-right:.75rem}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;background:#fff;border-radius:8px;padding:1rem;box-shadow:0 1px 3px #0002;max-width:44rem}
.facts dt{font-weight:600}
.facts dd{margin:0;overflow-wrap:anywhere}
ul.plain{list-style:none;padding:0;max-width:44rem}
ul.plain li.with-action{display:flex;justify-content:space-between;align-items:center;gap:1rem;padding:.35rem 0;border-bottom:1px solid #e4e6ea}
.breadcrumb{margin:.25rem 0}
.card{max-width:34rem;margin:10vh auto;background:#fff;border-radius:8px;padding:2rem;box-shadow:0 1px 3px #0002}
@media (max-width:40rem){
.table-wrap table,.table-wrap tbody,.table-wrap tr,.table-wrap td{display:block}
.table-wrap thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.table-wrap tr{padding:.5rem 0;border-bottom:1px solid #e4e6ea}
.table-wrap td{display:grid;grid-template-columns:6.5rem 1fr;gap:.75rem;border:0;padding:.25rem .75rem}
.table-wrap td[data-label]::before{content:attr(data-label);font-weight:600;color:#4b5060}
.table-wrap td.row-actions{white-space:normal}
.table-wrap td>*{justify-self:start}
}
@media (min-width:48rem){nav.console-nav{flex-basis:auto;order:0}main{padding:1.5rem 2rem}}
`;
