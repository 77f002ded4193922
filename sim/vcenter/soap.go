package vcenter

import (
	"bytes"
	"fmt"
	"net/http"
	"reflect"

	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

const (
	envelopeHead = xml.Header + `<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"` +
		` xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"` +
		` xmlns:xsd="http://www.w3.org/2001/XMLSchema"` +
		` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>`
	envelopeTail = `</soapenv:Body></soapenv:Envelope>`
)

// writeSOAP writes a SOAP response whose body is the XML encoding of res
// (a struct whose XMLName names the response element in urn:vim25).
func writeSOAP(w http.ResponseWriter, res any) {
	var body bytes.Buffer
	if err := xml.NewEncoder(&body).Encode(res); err != nil {
		writeFault(w, fmt.Sprintf("encoding response: %v", err), &types.SystemError{Reason: err.Error()})
		return
	}
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(envelopeHead))
	_, _ = w.Write(body.Bytes())
	_, _ = w.Write([]byte(envelopeTail))
}

// writeFault writes a SOAP fault carrying fault as its detail, with HTTP
// status 500 as vCenter does.
func writeFault(w http.ResponseWriter, msg string, fault types.BaseMethodFault) {
	kind := reflect.TypeOf(fault).Elem().Name()
	var detail bytes.Buffer
	enc := xml.NewEncoder(&detail)
	err := enc.EncodeElement(fault, xml.StartElement{
		Name: xml.Name{Local: kind + "Fault"},
		Attr: []xml.Attr{
			{Name: xml.Name{Local: "xmlns"}, Value: "urn:vim25"},
			{Name: xml.Name{Local: "xsi:type"}, Value: kind},
		},
	})
	if err == nil {
		err = enc.Flush()
	}
	if err != nil {
		detail.Reset()
	}
	var text bytes.Buffer
	_ = xml.EscapeText(&text, []byte(msg))

	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte(envelopeHead))
	_, _ = fmt.Fprintf(w, `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring><detail>%s</detail></soapenv:Fault>`,
		text.String(), detail.String())
	_, _ = w.Write([]byte(envelopeTail))
}
